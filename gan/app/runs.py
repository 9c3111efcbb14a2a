"""Visitors' sessions and their live training runs. A run trains in its own thread through the
engine's one ``train`` loop; the ``Run`` record fills in as progress arrives and is what the
Train tab streams. Runs of all visitors share ``Limits.max_concurrent_runs`` slots (the queue
lives in the UI framework, and ``slots`` holds the line on the server too: a cancelled stream frees
its queue slot at once, while its run takes up to STREAM_TIMEOUT to notice); a session's runs
stop when its tab closes or its stream is cancelled."""
from __future__ import annotations

import copy
import dataclasses
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan.app import background
from gan.app.bursts import train_in_bursts
from gan.app.control import RunControl
from gan.app.limits import Limits, on_gpu, zero_gpu
from gan.app.memory import release_free_memory
from gan.engine.checkpoint import save_generator
from gan.engine.config import TrainConfig
from gan.engine.loop import start_from, total_steps, train
from gan.engine.trainer import Trainer
from gan.evaluation.evaluate import QualityHook
from gan.evaluation.projection import draw_live, live_view
from gan.inference.explore import Explorer
from gan.inference.sampling import GeneratorModel, from_trainer, load_generator
from gan.models.registry import get_preset

DEFAULT_TRAIN_PRESET = "cgan"
QUALITY_EVERY = 200                     # steps between quick quality checks in the app
LIVE_VIEW_EVERY = 2.0                   # seconds between two live views of the fakes on the reals' map
STREAM_TIMEOUT = 12.0                   # seconds unread before a run's stream counts as abandoned (it is
                                        # read at least every 0.6 s while its visitor watches; on a server
                                        # starved by busy processes 3 s aborted runs of visitors still there)


def app_recipe(preset: str, gpu: bool | None = None) -> TrainConfig:
    """The preset's recipe as the app offers it: unchanged on a GPU (ZeroGPU's included: its runs
    train in GPU bursts), the preset's lighter ``cpu_recipe`` on a CPU."""
    gpu = (on_gpu() or zero_gpu()) if gpu is None else gpu
    extra = {} if gpu else dict(get_preset(preset).cpu_recipe)
    if zero_gpu():
        extra["compile"] = False                       # unsupported in ZeroGPU's forked workers
    return TrainConfig.for_preset(preset, steps=1, **extra)


@dataclass
class Run:
    """One training run of one visitor, updated by the training thread."""

    name: str
    cfg: TrainConfig
    control: RunControl = field(default_factory=RunControl)
    history: list[dict] = field(default_factory=list)   # one row per progress report
    quality: list[dict] = field(default_factory=list)   # quick FID / histogram rows
    grid: np.ndarray | None = None
    status: str = "queued"
    message: str = ""
    step: int = 0
    total: int | None = None
    images_per_sec: float = 0.0
    elapsed: float = 0.0
    model: GeneratorModel | None = None                 # sampling copy, refreshed for quality checks
    explorer: Explorer | None = None
    done: threading.Event = field(default_factory=threading.Event)
    changed: threading.Event = field(default_factory=threading.Event)  # a new grid or report to show
    discriminator: torch.nn.Module | None = None        # CPU copy, for the probe
    watched_at: float | None = None                     # when the visitor's stream last asked for more
    note: str = ""                                      # what the visitor should know about the run's settings
    view: np.ndarray | None = None                      # the fakes on the real digits' map (draw_live)
    view_at: float = -1e9                               # when it was drawn (time.monotonic)

    def tell(self, words: str) -> None:
        """Something the visitor should know about the run from now on (beside its status)."""
        self.note = f"{self.note} {words}".strip()
        self.changed.set()

    def abandoned(self) -> bool:
        """Nobody has read this run's stream for STREAM_TIMEOUT seconds: its visitor cancelled it
        (Gradio stops pulling a cancelled stream at once, and frees its training slot)."""
        return self.watched_at is not None and time.monotonic() - self.watched_at > STREAM_TIMEOUT

    def finish(self, status: str, message: str, trainer) -> None:
        if trainer is not None:
            self.model = from_trainer(trainer)
            self.discriminator = copy.deepcopy(trainer.D).float().cpu().eval()
        self.explorer = Explorer(self.model) if self.model is not None else None
        self.status, self.message = status, message
        self.done.set()
        self.changed.set()


class Session:
    """Everything one visitor owns; dropped (and its runs stopped) when the tab closes."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.runs: dict[str, Run] = {}
        self.uploads: dict[str, tuple[GeneratorModel, Explorer]] = {}
        self.picks: dict[str, object] = {}             # model -> the visitor's picked digit (gan.app.pictures.Pick)
        self.lock = threading.Lock()
        self.started = 0                                # runs ever started: names stay unique
        self.closed = False                             # the visitor left: nothing more to show them

    def add_upload(self, path: str | Path) -> str:
        """Load a visitor's generator file (safetensors only, size-capped, every tensor checked)
        and keep it, the oldest dropped beyond the per-visitor cap. Returns its name."""
        if path is None:
            raise ValueError("choose a .safetensors file first")
        path = Path(path)
        model = load_generator(path, max_bytes=int(self.limits.max_upload_mb * 1e6))
        name = f"{path.stem[:40]} ({model.preset})"
        with self.lock:
            self.uploads.pop(name, None)
            while len(self.uploads) >= self.limits.max_runs_per_session:
                del self.uploads[next(iter(self.uploads))]
            self.uploads[name] = (model, Explorer(model))
        return name

    def add_run(self, run: Run) -> None:
        with self.lock:
            finished = [k for k, r in self.runs.items() if r.done.is_set()]
            while len(self.runs) >= self.limits.max_runs_per_session and finished:
                del self.runs[finished.pop(0)]
            if len(self.runs) >= self.limits.max_runs_per_session:
                raise ValueError(f"at most {self.limits.max_runs_per_session} runs per visitor; stop one first")
            self.started += 1
            run.name = run.name or f"run {self.started} ({run.cfg.preset})"
            self.runs[run.name] = run

    def active(self) -> Run | None:
        with self.lock:
            live = [r for r in self.runs.values() if not r.done.is_set()]
        return live[-1] if live else None

    def stop_all(self) -> None:
        self.closed = True
        for r in list(self.runs.values()):
            r.control.stop()


class SessionStore:
    def __init__(self, limits: Limits):
        self.limits = limits
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Session:
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = Session(self.limits)
            return self._sessions[key]

    def drop(self, key: str) -> None:
        with self._lock:
            s = self._sessions.pop(key, None)
        if s is not None:
            s.stop_all()

    def __len__(self) -> int:
        return len(self._sessions)


def export_run(run: Run, folder: Path) -> Path:
    """The run's generator as a downloadable safetensors file (written once per run)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run.name)
    path = Path(folder) / f"{safe}-{id(run)}.safetensors"
    if not path.exists():
        save_generator(path, run.model.G.state_dict(), run.model.preset, run.model.mcfg.to_dict(), run.cfg.to_dict(),
                       run.step)
    return path


def start_run(session: Session, cfg: TrainConfig, data, quality_every: int = 0, init_from: GeneratorModel | None = None,
              name: str | None = None, foreground=None, slots: threading.Semaphore | None = None,
              live_view_every: float = 0.0, lease=None) -> tuple[Run, threading.Thread]:
    """Start ``train`` in a thread; the Run fills in as progress arrives. With a
    ``gan.app.priority.Foreground`` (a CPU server), the run pauses between steps while renders are
    in flight and its CPU thread count follows the load (``gan.app.threads``). With a ``lease``
    (ZeroGPU's ``spaces.GPU`` around ``gan.app.bursts.burst_in_worker``), the run lives on the CPU
    and trains in GPU bursts (``gan.app.bursts``)."""
    if lease is not None:
        cfg = dataclasses.replace(cfg, device="cpu")          # the run's home copy; the GPU only inside leases
    run = Run(name=name or "", cfg=cfg, control=RunControl(foreground=foreground, tune_threads=foreground is not None))
    session.add_run(run)

    def progress(p):
        run.step, run.total, run.elapsed, run.images_per_sec = p.step, p.total_steps, p.elapsed, p.images_per_sec
        row = {"step": p.step, "elapsed": p.elapsed, "lr_g": p.lr_g, "lr_d": p.lr_d} | p.stats
        if run.history and run.history[-1]["step"] == p.step:   # the final report repeats the last step
            run.history[-1] = row
        else:
            run.history.append(row)
        if p.samples is not None:
            run.grid = p.samples.numpy()
        run.changed.set()
        if quality is not None:
            quality(p)
        if live_view_every and (p.status != "running" or time.monotonic() - run.view_at >= live_view_every):
            run.view_at = time.monotonic()                     # the fakes on the reals' map, every live_view_every s
            run.view = draw_live(live_view(trainer))
            run.changed.set()

    def body():
        nonlocal trainer, quality
        held, result = False, None
        try:
            if slots is not None:
                run.status = "waiting for a training slot"
                run.changed.set()
                while not (held := slots.acquire(timeout=0.5)):
                    if run.control.stopped or session.closed or run.abandoned():
                        run.finish("aborted", "left before a training slot was free", None)
                        return
            run.status = "starting"
            trainer = Trainer(cfg, data)
            if init_from is not None:
                start_from(trainer, init_from)
            run.total = total_steps(cfg, len(trainer.data))
            if quality_every:                                  # the live mode meter: quick checks while it trains
                quality = QualityHook(trainer, every_steps=quality_every, on_check=run.quality.append)
            run.status = "running"
            if lease is not None:
                result = train_in_bursts(trainer, lease, data, progress=progress, control=run.control,
                                         abort=run.abandoned, say=lambda words: run.tell(words))
            else:
                result = train(progress=progress, trainer=trainer, control=run.control, abort=run.abandoned)
            if quality is not None and result.status in ("finished", "aborted") and trainer.step > 0 \
                    and not session.closed and not run.abandoned():
                run.status = "checking quality"                # the final figure, not the last periodic one
                quality.final(result.history[-1].elapsed)
            run.finish(result.status, result.message, result.trainer)
        except torch.cuda.OutOfMemoryError:
            run.finish("failed", "the GPU ran out of memory; try a smaller batch", None)
        except Exception as e:  # noqa: BLE001 - reported to the visitor, never crashes the server
            run.finish("failed", f"{type(e).__name__}: {e}", None)
        finally:
            trainer = result = quality = None              # the run's networks and batches freed here
            run.control.close()
            if held:
                slots.release()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            release_free_memory()                          # the run's freed pages back to the system

    trainer = quality = None
    return run, background.start(body, f"train-{uuid.uuid4().hex[:6]}", stop=run.control.stop)
