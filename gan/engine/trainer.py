"""The Trainer: all state of one GAN run (G, D, their optimizers, the EMA copy, the data on one
device) and its single optimisation steps. The loop that drives it is ``gan/engine/loop.py``;
how its state is written and read, ``gan/engine/checkpoint.py``.

Fast by construction: the whole dataset lives on the device as uint8, batches are gathered by
index from a per-epoch permutation, statistics accumulate on the device and are read back once
per ``log_every`` steps (no host sync in a step). ``d_update`` and ``g_update`` are the one body
of a step: the eager steps here and the CUDA-graph step (``gan/engine/fused_step.py``) both run
them, each feeding its own batches.
"""
from __future__ import annotations

import copy
import logging
import threading

import torch
import torch.nn as nn

from gan.engine import checkpoint as ckpt
from gan.engine.config import TrainConfig
from gan.engine.data import Digits
from gan.engine.device import cpu_has_native_bf16, resolve_device
from gan.engine.distributed import SINGLE, World, convert_sync_bn, sum_across, wrap
from gan.engine.fused_step import FusedStep
from gan.engine.losses import get_loss, r1_penalty
from gan.engine.optim import grad_norm, make_optimizer, set_lr
from gan.engine.options import OPTION
from gan.engine.pixels import from_pixels, to_pixels
from gan.inference.sampling import fixed_grid_inputs, make_grid, sample_latents

log = logging.getLogger("gan.engine")
# runs in threads (the app's training slots) build their networks one at a time: a seed gives the same
# weights however many start at once (dropout still draws from the global RNG while stepping)
INIT_LOCK = threading.Lock()
PLAIN_STEP = {"g_steps": 1, "step_order": "d-first", "d_fakes": "train", "adversarial_d": "frozen"}
STAT_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")


class Trainer:
    """All state of one GAN run. ``d_step``/``g_step`` are single optimisation steps."""

    def __init__(self, cfg: TrainConfig, data: Digits, world: World = SINGLE):
        cfg.validate()
        if world.active and cfg.adversarial_d == "trained":
            raise ValueError("adversarial_d 'trained' runs in one process only (D's second update is not reduced across ranks)")
        self.cfg = cfg
        self.world = world                        # one of several processes? (gan/engine/distributed.py)
        self.global_batch = cfg.batch_size * world.size
        self.rank_slice = slice(world.rank * cfg.batch_size, (world.rank + 1) * cfg.batch_size)
        self.mcfg = cfg.model_config()
        self.loss = get_loss(cfg.loss)
        self.device = resolve_device(cfg.device)
        cuda = self.device.type == "cuda"
        # bf16 autocast: on CUDA, and on CPUs with native bf16 (~1.4x more images/s for the
        # app's CPU recipe, same FID per step); fp32 master weights either way
        self.amp = cfg.amp if cfg.amp is not None else (cuda or cpu_has_native_bf16())
        data = data.subset(cfg.digits)
        if len(data) < self.global_batch:
            what = f"batch_size {cfg.batch_size}" + (f" x {world.size} processes" if world.active else "")
            raise ValueError(f"{what} is larger than the {len(data)} training images")
        self.data = data.to(self.device)
        if cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        with INIT_LOCK:                           # the global RNG draws the initial weights: one run at a time
            torch.manual_seed(cfg.seed)           # initial weights (and dropout, which draws from it too)
            G, D = self.mcfg.build()
            if world.active:
                G, D = (convert_sync_bn(net, self.device, cfg.sync_bn) for net in (G, D))
                torch.manual_seed(cfg.seed + 1 + world.rank)     # dropout differs between ranks
        self.channels_last = cfg.channels_last if cfg.channels_last is not None else not cuda
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.G: nn.Module = G.to(self.device, memory_format=fmt)
        self.D: nn.Module = D.to(self.device, memory_format=fmt)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.ema > 0 else None
        # the fused step keeps gradients allocated (a captured graph writes into them): never set to None
        wants_graph = cfg.cuda_graph if cfg.cuda_graph is not None else cuda
        self.use_graph = wants_graph and not world.active and self.plain_step
        # a Keras adversarial model without D frozen: one optimizer over G's and D's weights, stepped by G's loss
        self.g_params = list(self.G.parameters()) + (list(self.D.parameters()) if cfg.adversarial_d == "trained" else [])
        self.opt_g = self._optimizer(self.g_params, cfg.lr_g)
        self.opt_d = self._optimizer(list(self.D.parameters()), cfg.lr_d)
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed)
        self.step = 0                             # generator steps
        self.d_step_count = 0                     # discriminator steps (pre-training included)
        self.epoch_pos = 0                        # index into the current permutation
        self.epochs_done = 0
        self.train_seconds = 0.0                  # training time of earlier sessions of this run (resumes add up)
        self.session_seconds = 0.0                # ...and of this one so far (the loop keeps it current)
        self.perm = torch.randperm(len(self.data), generator=self.gen, device=self.device)
        self._acc = torch.zeros(len(STAT_NAMES), device=self.device)
        self._acc_n = torch.zeros(2, device=self.device)  # (d steps, g steps) since last read
        self.conditional = self.mcfg.num_classes > 0
        z, y = fixed_grid_inputs(self.mcfg, seed=cfg.seed, n=100)
        self.fixed_z, self.fixed_y = z.to(self.device), (y.to(self.device) if y is not None else None)
        # a penalty's double backward does not go through torch.compile
        use_compile = cfg.compile if cfg.compile is not None else (cuda and self.loss.penalty is None)
        self.compiled = bool(use_compile)
        G_ddp, D_ddp = (wrap(net, self.device) for net in (self.G, self.D)) if world.active else (self.G, self.D)
        self.G_fwd = torch.compile(G_ddp) if use_compile else G_ddp
        self.D_fwd = torch.compile(D_ddp) if use_compile else D_ddp
        # G's step reads D through the bare module: D's wrapper then never reduces gradients in G's step
        self.D_for_g = (torch.compile(self.D) if use_compile else self.D) if world.active else self.D_fwd
        self.step_note = ""                       # why a faster step mode was not used, if it was not
        self.fused = None                         # the whole step captured in a CUDA graph (gan/engine/fused_step.py)
        if self.use_graph:
            self.fused = FusedStep(self)
        if world.active and wants_graph:
            self.step_note = f"the CUDA-graph step is not used under DistributedDataParallel; running the {self.step_mode} step"
        elif wants_graph and not self.plain_step:
            self.step_note = (f"the CUDA-graph step runs D's step, then one G step on its fakes; this recipe's "
                              f"{', '.join(f'{k} {getattr(cfg, k)}' for k in PLAIN_STEP if getattr(cfg, k) != PLAIN_STEP[k])} "
                              f"runs the {self.step_mode} step")

    # ----------------------------------------------------------------- pieces
    @property
    def plain_step(self) -> bool:
        """D's step, then one G step on its fakes: the step the CUDA graph captures."""
        return all(getattr(self.cfg, k) == v for k, v in PLAIN_STEP.items())

    def _optimizer(self, params: list, lr: float) -> torch.optim.Optimizer:
        cuda = self.device.type == "cuda"
        return make_optimizer(self.cfg, params, lr, capturable=cuda and self.use_graph)

    def set_lr(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        for opt, name, lr in ((self.opt_g, "lr_g", lr_g), (self.opt_d, "lr_d", lr_d)):
            if lr is not None:
                OPTION[name].check(lr)
                setattr(self.cfg, name, float(lr))              # the run's rate, before any decay
                set_lr(opt, lr * self.lr_factor)

    @property
    def lr_factor(self) -> float:
        """What the learning rates are multiplied by at this step: 0.5 every ``lr_half_life`` steps."""
        return 0.5 ** (self.step / self.cfg.lr_half_life) if self.cfg.lr_half_life else 1.0

    @property
    def lr(self) -> tuple[float, float]:
        return tuple(float(o.param_groups[0]["lr"]) for o in (self.opt_g, self.opt_d))

    @property
    def step_mode(self) -> str:
        """graph (CUDA graph replay) | fused (the same step body, uncaptured) | compiled | eager."""
        if self.fused is not None:
            return "graph" if self.device.type == "cuda" else "fused"
        return "compiled" if self.compiled else "eager"

    def _autocast(self):
        # a captured graph must not reuse autocast's weight casts from outside the capture
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp, cache_enabled=not self.use_graph)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.batch_indices()
        x = from_pixels(self.data.images[idx], self.mcfg.output)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.data.labels[idx]

    def batch_indices(self) -> torch.Tensor:
        """This rank's slice of the next global batch of the shared per-epoch permutation."""
        b = self.global_batch
        if self.epoch_pos + b > len(self.perm):
            self.perm = torch.randperm(len(self.data), generator=self.gen, device=self.device)
            self.epoch_pos = 0
            self.epochs_done += 1
        idx = self.perm[self.epoch_pos:self.epoch_pos + b][self.rank_slice]
        self.epoch_pos += b
        return idx

    def batch_z(self) -> torch.Tensor:
        """This rank's slice of the global batch's noise (every rank draws the same stream)."""
        return self.sample_z(self.global_batch)[self.rank_slice]

    def sample_z(self, n: int) -> torch.Tensor:
        return sample_latents(n, self.mcfg.z_dim, self.mcfg.z_dist, self.gen, self.device)

    @property
    def epoch(self) -> float:
        return self.epochs_done + self.epoch_pos / len(self.data)

    def _clip(self, net: nn.Module) -> None:
        if self.cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_value_(net.parameters(), self.cfg.clip_grad)

    # ----------------------------------------------------------------- the step body
    def noisy(self, x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        """``x`` with instance noise (the run's ``instance_noise`` std), as D sees every image."""
        std = self.cfg.instance_noise
        return x if std <= 0 else x + std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)

    def d_update(self, real: torch.Tensor, y, z: torch.Tensor | None, keep_fake: bool, gen: torch.Generator | None,
                 fake: torch.Tensor | None = None):
        """D's update on one batch: G draws fakes from ``z`` (keeping its graph with ``keep_fake``; in
        eval mode, without it, when the run's ``d_fakes`` is "eval") unless ``fake`` is given,
        D's loss on real and fake, backward into D only, clip, step; statistics stay on the device.
        ``gen`` draws the penalty's and the instance noise's randomness (None: the default
        generator, which a captured graph can replay). Returns (fake, y)."""
        cfg = self.cfg
        if fake is None:
            predict = cfg.d_fakes == "eval"                             # Keras' generator.predict
            mode = self.G.training                                      # a fitted probe D keeps G in eval mode
            with torch.set_grad_enabled(keep_fake and not predict), self._autocast():
                self.G.train(mode and not predict)
                fake = self.G_fwd(z, y)                                 # (B, 1, 28, 28)
                self.G.train(mode)
        with self._autocast():
            real_in = self.noisy(real, gen)
            if cfg.r1_gamma > 0:
                real_in = real_in.detach().requires_grad_(True)         # R1 differentiates D at these
            out_real = self.D_fwd(real_in, y)                           # (B,) logits
            out_fake = self.D_fwd(self.noisy(fake.detach(), gen), y)
            loss = self.loss.d_loss(out_real, out_fake, 1.0 - cfg.label_smoothing)
            if self.loss.penalty is not None and cfg.gp_weight > 0:
                loss = loss + cfg.gp_weight * self.loss.penalty(self.D_fwd, real, fake.detach().float(), y, gen)
            if cfg.r1_gamma > 0:
                loss = loss + cfg.r1_gamma / 2 * r1_penalty(out_real, real_in)
        self.opt_d.zero_grad(set_to_none=not self.use_graph)   # a captured graph writes into the same tensors
        d_params = list(self.D.parameters())
        loss.backward(inputs=d_params)
        self._clip(self.D)
        gn = grad_norm(d_params)
        self.opt_d.step()
        with torch.no_grad():
            acc = self._acc
            acc[0] += loss.detach().float()
            acc[2] += self.loss.to_probability(out_real.detach().float()).mean()
            acc[3] += self.loss.to_probability(out_fake.detach().float()).mean()
            acc[4] += gn.to(acc.device)
            self._acc_n[0] += 1
        return fake, y

    def g_update(self, fake: torch.Tensor, y, ema_decay, gen: torch.Generator | None) -> None:
        """G's update on ``fake`` (with its graph): D's verdict, backward into G only (D's gradients
        stay as D's own step left them), clip, step, then the EMA copy with ``ema_decay`` (a float,
        or a device tensor inside a captured graph)."""
        with self._autocast():
            loss = self.loss.g_loss(self.D_for_g(self.noisy(fake, gen), y))
        self.opt_g.zero_grad(set_to_none=not self.use_graph)
        loss.backward(inputs=self.g_params)                         # G's weights (and D's with adversarial_d trained)
        if self.cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_value_(self.g_params, self.cfg.clip_grad)
        gn = grad_norm(self.G.parameters())
        self.opt_g.step()
        if self.G_ema is not None:
            self.update_ema(ema_decay)
        with torch.no_grad():
            self._acc[1] += loss.detach().float()
            self._acc[5] += gn.to(self._acc.device)
            self._acc_n[1] += 1

    @torch.no_grad()
    def update_ema(self, decay) -> None:
        ema_p, p = list(self.G_ema.parameters()), list(self.G.parameters())
        torch._foreach_mul_(ema_p, decay)
        torch._foreach_add_(ema_p, torch._foreach_mul(p, 1.0 - decay))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # ----------------------------------------------------------------- eager steps
    def d_step(self, keep_fake: bool = False):
        """One discriminator step on the next batch. With ``keep_fake`` (fake, labels) are returned
        with G's graph, so the G step that follows reuses them (one G forward per step instead of
        two, as the PyTorch DCGAN example does)."""
        real, y = self.next_batch()
        fake_y = self.d_update(real, y if self.conditional else None, self.batch_z(), keep_fake, self.gen)
        self.d_step_count += 1
        return fake_y if keep_fake else None

    def g_first_step(self) -> None:
        """PyTorch-GAN's order: G's step on fresh fakes (the real batch's labels), then D's step on
        the same fakes, detached, made before G's update (with ``d_fakes`` "eval": fresh ones)."""
        real, y = self.next_batch()
        y = y if self.conditional else None
        with self._autocast():
            fake = self.G_fwd(self.batch_z(), y)
        self.g_step(fake, y)
        if self.cfg.d_fakes == "eval":        # fresh fakes of the updated G, drawn as Keras' predict draws them
            self.d_update(real, y, self.batch_z(), False, self.gen)
        else:
            self.d_update(real, y, None, False, self.gen, fake=fake.detach())
        self.d_step_count += 1

    def g_step(self, fake: torch.Tensor | None = None, y: torch.Tensor | None = None) -> None:
        """One generator step, on fresh samples or on ``fake`` (with its graph) from the D step."""
        if fake is None:
            y = (torch.randint(0, 10, (self.global_batch,), device=self.device, generator=self.gen)[self.rank_slice]
                 if self.conditional else None)
            with self._autocast():
                fake = self.G_fwd(self.batch_z(), y)
        warm_up = (1 + self.step) / (10 + self.step)          # average the early, poor weights less
        self.g_update(fake, y, min(self.cfg.ema, warm_up), self.gen)
        self.step += 1

    def train_step(self) -> None:
        """``d_steps`` discriminator steps and ``g_steps`` generator steps, in the run's ``step_order``
        (or one pre-training D step)."""
        if self.cfg.lr_half_life:
            set_lr(self.opt_g, self.cfg.lr_g * self.lr_factor)
            set_lr(self.opt_d, self.cfg.lr_d * self.lr_factor)
        if self.d_step_count < self.cfg.d_pretrain_steps:
            self.d_step()
            return
        if self.fused is not None:
            try:
                self.fused.step()
                return
            except torch.OutOfMemoryError:
                raise
            except Exception as e:  # noqa: BLE001 - a failed capture never breaks a run
                self.fused = None
                self.step_note = (f"the CUDA-graph step failed ({type(e).__name__}: {str(e)[:200]}); "
                                  f"running the {self.step_mode} step")
                log.warning(self.step_note)
        cfg = self.cfg
        for _ in range(cfg.d_steps - 1):
            self.d_step()
        if cfg.step_order == "g-first":
            self.g_first_step()
        elif cfg.d_fakes == "eval":           # D's fakes carry no graph for G: G's step draws its own
            self.d_step()
            self.g_step()
        else:
            self.g_step(*self.d_step(keep_fake=True))
        for _ in range(cfg.g_steps - 1):
            self.g_step()

    def read_stats(self) -> dict[str, float | None] | None:
        """Average the accumulated statistics (one device->host copy) and reset them.
        None when no step ran since the last read; G's entries are None in D-only intervals."""
        vals = sum_across(torch.cat([self._acc, self._acc_n])).tolist()   # over all ranks: their mean
        nd, ng = vals[-2], vals[-1]
        if nd == 0 and ng == 0:
            return None
        out = {}
        for i, k in enumerate(STAT_NAMES):
            n = ng if k in ("g_loss", "grad_norm_g") else nd
            out[k] = vals[i] / n if n else None
        self._acc.zero_()
        self._acc_n.zero_()
        return out

    def weights_finite(self) -> bool:
        params = [p for p in list(self.G.parameters()) + list(self.D.parameters())]
        return bool(torch.isfinite(torch.stack(torch._foreach_norm(params))).all())

    # ----------------------------------------------------------------- sampling
    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples and exports: the EMA copy when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def sample_grid(self) -> torch.Tensor:
        G = self.sampler
        was_training = G.training
        G.eval()
        with self._autocast():
            x = G(self.fixed_z, self.fixed_y)
        G.train(was_training)
        return make_grid(to_pixels(x, self.mcfg.output), nrow=10)

    # ----------------------------------------------------------------- state
    def snapshot(self) -> dict:
        nets = {"G": self.G, "D": self.D} | ({"G_ema": self.G_ema} if self.G_ema is not None else {})
        return {k: {n: t.detach().clone() for n, t in m.state_dict().items()} for k, m in nets.items()}

    def restore(self, snap: dict) -> None:
        self.G.load_state_dict(snap["G"])
        self.D.load_state_dict(snap["D"])
        if self.G_ema is not None and "G_ema" in snap:
            self.G_ema.load_state_dict(snap["G_ema"])

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        return ckpt.trainer_state(self)

    def save(self, path) -> None:
        ckpt.save_trainer(self, path)

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        ckpt.load_trainer_state(self, tensors, meta)

    def export_generator(self, path, extra: dict | None = None, half: bool = False) -> None:
        """Generator-only file for weights/: the sampling generator (EMA if any) + config."""
        ckpt.export_generator(self, path, extra, half)
