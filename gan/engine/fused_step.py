"""One whole training step with no host synchronisation, captured in a CUDA graph on a GPU.

``FusedStep.body()`` runs the Trainer's own step body (``d_update``, ``g_update``) on batches
drawn for capture: indices by ``torch.randint`` into the device-resident dataset and z from the
default generator (graph-safe: every replay advances its offset), ``d_steps`` D updates, one G
update on the last D update's fakes, the EMA of G with its warm-up counted on the device.
Gradients are zeroed in place (never set to None) and learning rates are device tensors, so
"apply learning rates now" works without a new capture. On CUDA the body is captured once after
a few warm-up steps on a side stream and then replayed; on a CPU it simply runs (the tests
check it there).

Any failure to capture never breaks a run: the trainer goes on with its compiled or eager
step and ``trainer.step_note`` says why, once. Batches are drawn with replacement (the eager
path walks a per-epoch permutation); the epoch figure counts images seen.
"""
from __future__ import annotations

import torch

from gan.engine.pixels import from_pixels
from gan.inference.sampling import sample_latents

WARMUP_STEPS = 3


class FusedStep:
    def __init__(self, trainer):
        self.t = trainer
        dev = trainer.device
        self.graph: torch.cuda.CUDAGraph | None = None
        self.ema_steps = torch.zeros((), device=dev)              # G steps seen by the EMA warm-up
        self.one = torch.ones((), device=dev)
        for opt in (trainer.opt_g, trainer.opt_d):                # learning rates as device tensors
            for g in opt.param_groups:
                if not isinstance(g["lr"], torch.Tensor):
                    g["lr"] = torch.tensor(float(g["lr"]), device=dev)

    def _batch(self):
        """(real, y, z) for one update, drawn on the device with the default generator."""
        t = self.t
        b = t.cfg.batch_size
        idx = torch.randint(0, len(t.data), (b,), device=t.device)
        x = from_pixels(t.data.images[idx], t.mcfg.output)       # (B, 1, 28, 28)
        if t.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = t.data.labels[idx] if t.conditional else None
        return x, y, sample_latents(b, t.mcfg.z_dim, t.mcfg.z_dist, None, t.device)

    def body(self) -> None:
        """One generator update preceded by ``d_steps`` discriminator updates."""
        t = self.t
        for _ in range(t.cfg.d_steps - 1):
            t.d_update(*self._batch(), keep_fake=False, gen=None)
        fake, y = t.d_update(*self._batch(), keep_fake=True, gen=None)
        warm_up = (self.one + self.ema_steps) / (10 + self.ema_steps)
        t.g_update(fake, y, torch.minimum(warm_up, self.one * t.cfg.ema), gen=None)
        self.ema_steps += 1

    # ------------------------------------------------------------------ running it
    def _count(self, steps: int) -> None:
        t = self.t
        t.step += steps
        t.d_step_count += steps * t.cfg.d_steps
        seen = t.d_step_count * t.cfg.batch_size
        t.epochs_done, t.epoch_pos = divmod(seen, len(t.data))

    def step(self) -> None:
        """One training step: a graph replay on CUDA (captured on first use), the body elsewhere."""
        if self.t.device.type != "cuda":
            self.body()
            self._count(1)
            return
        if self.graph is None:
            self._capture()
        self.graph.replay()
        self._count(1)

    def _capture(self) -> None:
        side = torch.cuda.Stream(self.t.device)
        side.wait_stream(torch.cuda.current_stream(self.t.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):                          # real training steps, counted
                self.body()
                self._count(1)
        torch.cuda.current_stream(self.t.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.body()
        self.graph = graph                                         # capture does not train: replays do
