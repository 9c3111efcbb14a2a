"""One whole training step with no host synchronisation, captured in a CUDA graph on a GPU.

``FusedStep.body()`` is the step written for capture: batch indices (``torch.randint`` into
the device-resident dataset) and z drawn with the default generator (graph-safe: every replay
advances its offset), ``d_steps`` D steps, one G step on the last D step's fakes (gradients
only for G: ``backward(inputs=...)``), the EMA of G, and the statistics accumulated in the
trainer's device tensors. Gradients are zeroed in place (never set to None), learning rates
and the EMA's step count are device tensors, so "apply learning rates now" works without a
new capture. On CUDA the body is captured once after a few warm-up steps on a side stream and
then replayed; on a CPU it simply runs (the tests check it there).

Any failure to capture never breaks a run: the trainer goes on with its compiled or eager
step and ``trainer.step_note`` says why, once. Batches are drawn with replacement (the eager
path walks a per-epoch permutation); the epoch figure counts images seen.
"""
from __future__ import annotations

import logging

import torch

from gan.engine.pixels import from_pixels
from gan.inference.sampling import sample_latents

log = logging.getLogger("gan.engine")
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

    # ------------------------------------------------------------------ the step body
    def _batch(self):
        t = self.t
        b = t.cfg.batch_size
        idx = torch.randint(0, len(t.data), (b,), device=t.device)
        x = from_pixels(t.data.images[idx], t.mcfg.output)
        if t.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = t.data.labels[idx] if t.conditional else None
        return x, y, sample_latents(b, t.mcfg.z_dim, t.mcfg.z_dist, None, t.device)

    def _autocast(self):
        return torch.autocast(self.t.device.type, dtype=torch.bfloat16, enabled=self.t.amp, cache_enabled=False)

    def _d_step(self, keep_fake: bool):
        t, cfg = self.t, self.t.cfg
        real, y, z = self._batch()
        with torch.set_grad_enabled(keep_fake), self._autocast():
            fake = t.G_fwd(z, y)
        with self._autocast():
            out_real, out_fake = t.D_fwd(real, y), t.D_fwd(fake.detach(), y)
            loss = t.loss.d_loss(out_real, out_fake, 1.0 - cfg.label_smoothing)
            if t.loss.penalty is not None and cfg.gp_weight > 0:
                loss = loss + cfg.gp_weight * t.loss.penalty(t.D_fwd, real, fake.detach().float(), y, None)
        t.opt_d.zero_grad(set_to_none=False)
        d_params = list(t.D.parameters())
        loss.backward(inputs=d_params)
        t._clip(t.D)
        gn = t.grad_norm(d_params)
        t.opt_d.step()
        with torch.no_grad():
            acc = t._acc
            acc[0] += loss.detach().float()
            acc[2] += t.loss.to_probability(out_real.detach().float()).mean()
            acc[3] += t.loss.to_probability(out_fake.detach().float()).mean()
            acc[4] += gn
            t._acc_n[0] += 1
        return fake, y

    def _g_step(self, fake, y) -> None:
        t = self.t
        with self._autocast():
            loss = t.loss.g_loss(t.D_fwd(fake, y))
        t.opt_g.zero_grad(set_to_none=False)
        g_params = list(t.G.parameters())
        loss.backward(inputs=g_params)                             # D's gradients stay as D's step left them
        t._clip(t.G)
        gn = t.grad_norm(g_params)
        t.opt_g.step()
        if t.G_ema is not None:
            self._update_ema()
        with torch.no_grad():
            t._acc[1] += loss.detach().float()
            t._acc[5] += gn
            t._acc_n[1] += 1

    @torch.no_grad()
    def _update_ema(self) -> None:
        t = self.t
        decay = torch.minimum((self.one + self.ema_steps) / (10 + self.ema_steps), self.one * t.cfg.ema)
        ema_p, p = list(t.G_ema.parameters()), list(t.G.parameters())
        torch._foreach_mul_(ema_p, decay)
        torch._foreach_add_(ema_p, torch._foreach_mul(p, self.one - decay))
        for b_ema, b in zip(t.G_ema.buffers(), t.G.buffers()):
            b_ema.copy_(b)
        self.ema_steps += 1

    def body(self) -> None:
        """One generator step preceded by ``d_steps`` discriminator steps."""
        for _ in range(self.t.cfg.d_steps - 1):
            self._d_step(keep_fake=False)
        self._g_step(*self._d_step(keep_fake=True))

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
