"""Training in GPU bursts, for Hugging Face ZeroGPU: there CUDA exists only inside ``spaces.GPU``
calls, run in a forked worker, and each visitor has a few GPU minutes a day.

A run's Trainer lives on the CPU in the app's own process, so Pause, the step buttons, live
learning rates, Explore's "my run", the probe and Compare work on it as on any run. It trains on
the GPU in leases of at most ``BURST_SECONDS``: its state goes to the worker, trains there on the
same data, and comes back with the worker's reports, which the visitor then sees (the stream
moves in bursts). No GPU is held between leases, nor while the run is paused. When ZeroGPU
refuses a lease (the quota used up, a full queue, an overrun lease) the run goes on on the CPU
and the visitor is told why.

torch.compile stays off (ZeroGPU does not support it). CUDA-graph capture stays on, though a
fresh worker captures again every lease: the graph step ran 5.4x the eager one at batch 128 on an
H200 (README, Performance), so a capture (a few warm-up steps and one recording; a whole process
start with CUDA, MNIST and the capture measured ~20 s) pays for itself within a 20 s lease, and a
capture that fails falls back to eager steps. Not yet measured inside ZeroGPU's worker.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gan.engine.checkpoint import trainer_state
from gan.engine.config import TrainConfig
from gan.engine.data import Digits
from gan.engine.loop import Controls, Progress, TrainResult, total_steps, train
from gan.engine.trainer import Trainer

BURST_SECONDS = 20.0                    # training seconds per GPU lease
LEASE_MARGIN = 20                       # seconds a lease asks beyond them: the worker's start, the state's round trip


@dataclass
class Burst:
    """What one lease sends back: the run's state (CPU tensors) and what it reported."""

    tensors: dict[str, torch.Tensor]
    meta: dict
    reports: list[Progress]
    status: str                         # "aborted" when the lease's time was up; else how the run ended
    message: str


def burst(tensors: dict[str, torch.Tensor], meta: dict, data: Digits, seconds_left: float | None,
          burst_seconds: float = BURST_SECONDS) -> Burst:
    """One lease's work (in ZeroGPU's worker): the run's state on the GPU (the CPU where there is
    none), trained for ``burst_seconds`` or to the end of the run, back as CPU tensors."""
    cfg = TrainConfig.from_dict(meta["config"])
    cfg.device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg.compile, cfg.out_dir = False, None
    if cfg.seconds is not None:
        cfg.seconds = max(float(seconds_left), 1e-3)
    trainer = Trainer(cfg, data)
    trainer.load_state(tensors, meta)
    t0, first = time.perf_counter(), trainer.step
    reports: list[Progress] = []                        # every lease trains at least one step: a run always ends
    result = train(trainer=trainer, progress=reports.append,
                   abort=lambda: trainer.step > first and time.perf_counter() - t0 >= burst_seconds)
    out, out_meta = trainer_state(trainer)
    reports = [dataclasses.replace(p, samples=None if p.samples is None else p.samples.cpu()) for p in reports]
    return Burst({k: v.cpu() for k, v in out.items()}, out_meta, reports, result.status, result.message)


def burst_in_worker(*args, **kwargs) -> Burst:
    """``burst`` as ZeroGPU runs it, in a process forked from the app's: on one CPU thread (a
    forked copy of the parent's OpenMP pool deadlocks at its first parallel region; the GPU does
    the work). ``app.py`` gives this function to ``spaces.GPU``."""
    torch.set_num_threads(1)
    return burst(*args, **kwargs)


def burst_lease(tensors, meta, data, seconds_left, burst_seconds: float = BURST_SECONDS) -> int:
    """ZeroGPU's ``duration`` for ``burst`` (called with its arguments): the lease's training time,
    within what the run has left, plus the margin."""
    train_s = burst_seconds if seconds_left is None else min(burst_seconds, max(float(seconds_left), 0.0))
    return math.ceil(train_s) + LEASE_MARGIN


def train_in_bursts(trainer: Trainer, lease: Callable[..., Burst], data: Digits,
                    progress: Callable[[Progress], None] | None = None, control: Controls | None = None,
                    abort: Callable[[], bool] | None = None, say: Callable[[str], None] | None = None,
                    burst_seconds: float = BURST_SECONDS) -> TrainResult:
    """Train ``trainer`` (on the CPU) to the end of its run in ``lease(...)`` calls of ``burst``:
    the same reports, controls and result as ``gan.engine.loop.train``. ``data``: the full
    training set the trainer was built from (its digits are picked again in the worker)."""
    cfg, history, done = trainer.cfg, [], 0.0          # done: training seconds of the finished bursts
    n_total = total_steps(cfg, len(trainer.data))

    def show(p: Progress, status: str = "running", message: str = "") -> None:
        p = dataclasses.replace(p, elapsed=p.elapsed + done, status=status, message=message)
        history.append(p)
        if progress is not None:
            progress(p)

    def end(status: str, message: str) -> TrainResult:
        last = history[-1] if history else None
        show(Progress(trainer.step, n_total, trainer.epoch, 0.0, last.images_per_sec if last else 0.0,
                      last.stats if last else {}, *trainer.lr, samples=trainer.sample_grid()), status, message)
        return TrainResult(trainer, status, message, history)

    while True:
        if (abort is not None and abort()) or (control is not None and control.stopped):
            return end("aborted", f"stopped at step {trainer.step}")
        if control is not None:
            control.wait(trainer)                          # live learning rates, single steps; waits while paused
            if not control.running:
                continue
        left = None if cfg.seconds is None else cfg.seconds - done
        if (n_total is not None and trainer.step >= n_total) or (left is not None and left <= 0):
            return end("finished", f"finished at step {trainer.step}")
        tensors, meta = trainer_state(trainer)
        try:
            b = lease(tensors, meta, data, left, burst_seconds)
        except Exception as e:  # noqa: BLE001 - ZeroGPU's refusals have no common type; the CPU carries on
            status, message = _on_the_cpu(trainer, e, left, show, control, abort, say)
            return TrainResult(trainer, status, message, history)
        trainer.load_state(b.tensors, b.meta)
        *reports, last = b.reports
        for p in reports:
            show(p)
        if b.status != "aborted":                          # the run ended in the worker
            show(last, b.status, b.message)
            return TrainResult(trainer, b.status, b.message, history)
        show(last)
        done += last.elapsed


def _on_the_cpu(trainer: Trainer, error: Exception, left, show, control, abort, say) -> tuple[str, str]:
    """The rest of the run on the CPU, after ZeroGPU refused a lease: (status, message)."""
    reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    if say is not None:
        say(f"The GPU was not available ({reason}): the run goes on on the CPU.")
    if left is not None:
        trainer.cfg = dataclasses.replace(trainer.cfg, seconds=max(left, 1e-3))
    result = train(trainer=trainer, progress=lambda p: show(p, p.status, p.message), control=control, abort=abort)
    return result.status, result.message
