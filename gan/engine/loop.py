"""``train(config, progress=..., abort=...)``: the one training loop every caller drives.

Hooks (all optional):
  progress(Progress)  called every ``log_every`` steps and once at the end;
  abort() -> bool     polled every step; True stops the run promptly, keeping the weights;
  control             a ``Controls`` (pause, single steps, learning-rate changes), polled every step;
                      the app's ``gan.app.control.RunControl`` is one.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import torch

from gan.engine.checkpoint import read_tensors
from gan.engine.config import TrainConfig
from gan.engine.data import Digits, load_mnist
from gan.engine.distributed import SINGLE, World, agree
from gan.engine.trainer import Trainer


class Controls(Protocol):
    """What ``train`` asks of a run's controller, from the training thread."""

    @property
    def stopped(self) -> bool: ...          # end the run now (keeping its weights)

    @property
    def running(self) -> bool: ...          # False while paused

    def wait(self, trainer: Trainer) -> tuple[float, bool]:
        """Apply pending changes (learning rates, single steps) to ``trainer``; while paused, wait
        a little. Returns (seconds waited while paused, whether a single step ran)."""


@dataclass
class Progress:
    """What ``progress`` receives every ``log_every`` steps (and once at the end)."""

    step: int                     # generator steps done
    total_steps: int | None       # None when the run is bounded by seconds only
    epoch: float                  # passes over the training data
    elapsed: float                # seconds of training
    images_per_sec: float         # real images through D per second, over the last interval
    stats: dict[str, float]       # STAT_NAMES averaged over the last interval
    lr_g: float
    lr_d: float
    samples: "torch.Tensor | None" = None  # uint8 (H, W) fixed-noise grid, every sample_every steps
    status: str = "running"       # running | finished | aborted | diverged
    message: str = ""


@dataclass
class TrainResult:
    trainer: "Trainer"
    status: str                   # finished | aborted | diverged
    message: str
    history: list[Progress] = field(default_factory=list)


def total_steps(cfg: TrainConfig, n_images: int, world_size: int = 1) -> int | None:
    """Generator steps the run will take, or None when only ``seconds`` bounds it."""
    bounds = []
    if cfg.steps is not None:
        bounds.append(cfg.steps)
    if cfg.epochs is not None:
        d_per_epoch = n_images / (cfg.batch_size * world_size)
        bounds.append(max(1, math.ceil((cfg.epochs * d_per_epoch - cfg.d_pretrain_steps) / cfg.d_steps)))
    return min(bounds) if bounds else None


# what a resumed run takes from its new config; every other field is the checkpoint's recipe
SESSION_FIELDS = ("steps", "epochs", "seconds", "out_dir", "device", "log_every", "sample_every", "checkpoint_every")


def recipe_of(cfg: TrainConfig) -> dict:
    """The fields of a run's config that a resume keeps from its checkpoint: what it trains (its
    model as the whole architecture, so a field set to its default equals one left out)."""
    return {k: v for k, v in cfg.to_dict().items() if k not in SESSION_FIELDS} | {"model": cfg.model_config().to_dict()}


def recipe_changes(checkpoint: str | Path, cfg: TrainConfig) -> list[str]:
    """The recipe fields in which ``cfg`` differs from what ``checkpoint`` trains ([] = the same recipe)."""
    saved, new = recipe_of(TrainConfig.from_dict(read_tensors(checkpoint)[1]["config"])), recipe_of(cfg)
    return sorted(k for k in new if saved.get(k) != new[k])


def resume_trainer(cfg: TrainConfig, path: str | Path, data: Digits, world: World = SINGLE) -> Trainer:
    """A Trainer restored from a checkpoint; ``cfg`` only supplies the new length and I/O settings."""
    tensors, meta = read_tensors(path)
    if "config" not in meta:
        raise ValueError(f"{Path(path).name}: not a training checkpoint (a generator export cannot be resumed)")
    saved = TrainConfig.from_dict(meta["config"])
    for k in SESSION_FIELDS:
        setattr(saved, k, getattr(cfg, k))
    saved.validate()
    trainer = Trainer(saved, data, world)
    trainer.load_state(tensors, meta)
    return trainer


def start_from(trainer: Trainer, model) -> None:
    """Start ``trainer``'s generator (and its EMA copy) from a trained ``GeneratorModel``'s weights."""
    state = model.G.state_dict()
    trainer.G.load_state_dict(state)
    if trainer.G_ema is not None:
        trainer.G_ema.load_state_dict(state)


EARLY_SAMPLES = frozenset((1, 2, 5, 10, 20, 50, 100, 200))   # steps with a grid from the start: first pictures at once


def train(cfg: TrainConfig | None = None, progress: Callable[[Progress], None] | None = None,
          abort: Callable[[], bool] | None = None, data: Digits | None = None,
          resume: str | Path | None = None, trainer: Trainer | None = None,
          control: Controls | None = None) -> TrainResult:
    """Train ``cfg`` (or the checkpoint ``resume`` with ``cfg``'s length and I/O settings) until
    its length is reached; or continue ``trainer``, which carries its own config."""
    if trainer is None:
        if cfg is None:
            raise ValueError("train needs a config or a trainer")
        data = data if data is not None else load_mnist("train")
        trainer = resume_trainer(cfg, resume, data) if resume is not None else Trainer(cfg, data)
    elif cfg is not None and cfg is not trainer.cfg:
        raise ValueError("pass a config or a trainer, not both: a trainer runs its own config")
    cfg = trainer.cfg
    world = trainer.world
    n_total = total_steps(cfg, len(trainer.data), world.size)
    out_dir = Path(cfg.out_dir) if cfg.out_dir else None
    history: list[Progress] = []
    start = last_t = time.perf_counter()
    paused = 0.0                                   # seconds spent paused, excluded from `elapsed`
    last_d = trainer.d_step_count
    snapshot, snapshot_step = trainer.snapshot(), trainer.step
    last_stats: dict = {}

    last_grid_t = start

    def report(status: str = "running", message: str = "", samples: bool = False) -> Progress:
        nonlocal last_t, last_d, last_stats, last_grid_t
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        now = time.perf_counter()
        stats = trainer.read_stats() or last_stats
        new_d = trainer.d_step_count - last_d
        rate = new_d * trainer.global_batch / max(now - last_t, 1e-9) if new_d else (history[-1].images_per_sec if history else 0.0)
        p = Progress(step=trainer.step, total_steps=n_total, epoch=trainer.epoch, elapsed=now - start - paused,
                     images_per_sec=rate,
                     stats=stats, lr_g=trainer.lr[0], lr_d=trainer.lr[1],
                     samples=trainer.sample_grid() if samples and world.main else None, status=status, message=message)
        last_t, last_d, last_stats = now, trainer.d_step_count, stats
        trainer.session_seconds = p.elapsed
        if samples:   # a fixed cadence: the next timed grid is due a period after this one was due, not after it came
            period = cfg.sample_seconds
            last_grid_t = last_grid_t + period if period and 0 <= now - last_grid_t - period < period else now
        history.append(p)
        if progress is not None and world.main:
            progress(p)
        return p

    def agreed(flag: bool) -> bool:
        """Several ranks take clock- and caller-driven decisions together, at report steps only."""
        return flag if not world.active else trainer.step % cfg.log_every == 0 and agree(flag, trainer.device)

    def finished() -> bool:
        if n_total is not None and trainer.step >= n_total:
            return True
        return agreed(cfg.seconds is not None and time.perf_counter() - start - paused >= cfg.seconds)

    status, message, since_log = "finished", "", 0
    report(samples=True)                           # the starting picture, before any step
    while not finished():
        if agreed((abort is not None and abort()) or (control is not None and control.stopped)):
            status, message = "aborted", f"stopped at step {trainer.step}"
            break
        if control is not None:
            waited, stepped = control.wait(trainer)   # applies lr changes; blocks while paused
            paused += waited
            since_log = cfg.log_every if stepped else since_log
            if not control.running and not stepped:
                continue
        if control is None or control.running:
            try:
                trainer.train_step()
            except torch.OutOfMemoryError:
                trainer.restore(snapshot)
                if trainer.device.type == "cuda":
                    torch.cuda.empty_cache()
                status = "out of memory"
                message = (f"the device ran out of memory at step {trainer.step}; kept the weights from step "
                           f"{snapshot_step}. Try a smaller batch or model")
                break
            since_log += 1
        early = trainer.step in EARLY_SAMPLES and trainer.step != history[-1].step
        timed = cfg.sample_seconds > 0 and not world.active and time.perf_counter() - last_grid_t >= cfg.sample_seconds
        if since_log < cfg.log_every and not (early or timed) or trainer.step == history[-1].step:
            continue
        since_log = trainer.step % cfg.log_every    # the next regular report on a multiple, after an early or timed one
        p = report(samples=early or timed or trainer.step % cfg.sample_every < cfg.log_every)
        if not (all(math.isfinite(v) for v in p.stats.values() if v is not None) and trainer.weights_finite()):
            trainer.restore(snapshot)
            status = "diverged"
            message = (f"losses or weights became NaN/inf by step {trainer.step}; "
                       f"kept the last good weights from step {snapshot_step}")
            break
        snapshot, snapshot_step = trainer.snapshot(), trainer.step
        if out_dir and world.main and cfg.checkpoint_every and trainer.step % cfg.checkpoint_every < cfg.log_every:
            trainer.save(out_dir / "checkpoint.safetensors")
    if status == "finished":
        message = f"finished at step {trainer.step}"
    final = report(status, message, samples=True)
    trainer.train_seconds, trainer.session_seconds = trainer.train_seconds + final.elapsed, 0.0   # resumes add up
    if out_dir and world.main and status not in ("diverged", "out of memory"):
        trainer.save(out_dir / "checkpoint.safetensors")
    return TrainResult(trainer, status, final.message, history)
