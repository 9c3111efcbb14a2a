"""The playground's logic, free of any UI framework: a model library, per-visitor sessions,
live training runs with a shared concurrency limit, and the explore/probe functions.
``app.py`` wires these to Gradio; the tests call them directly.

Limits come from environment variables (all enforced here, on the server side):
  GAN_MAX_CONCURRENT_RUNS  training runs at once, all visitors together   (default 1 on CPU, 4 on GPU)
  GAN_MAX_RUN_SECONDS      longest training run                           (default 120 on CPU, 300 on GPU)
  GAN_MAX_SAMPLES          digits per request                              (default 100)
  GAN_MAX_UPLOAD_MB        size of an uploaded image or weights file       (default 20)
  GAN_MAX_RUNS_PER_SESSION runs kept per visitor (oldest dropped)          (default 5)
"""
from __future__ import annotations

import copy
import functools
import json
import math
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gan.config import TrainConfig
from gan.control import RunControl
from gan.explore import Explorer
from gan.inputs import check_float, check_int, decode_drawing  # noqa: F401  (re-exported for app.py)
from gan.sampling import GeneratorModel, from_trainer, load_generator, make_grid

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = "cgan"
DEFAULT_TRAIN_PRESET = "cgan"

# On a CPU the app trains half-width conv nets, and its default (cgan) with a faster recipe:
# 60 s on 2 cores reach ~18x the FID floor with all ten digits (README, Performance).
CPU_MODEL = {"dcgan": {"ngf": 32, "ndf": 32}, "cgan": {"ngf": 32, "ndf": 32}, "wgan-gp": {"ngf": 32, "ndf": 32}}
CPU_RECIPE = {"cgan": {"lr_g": 1e-3, "lr_d": 1e-3, "ema": 0.0, "batch_size": 128}}


def app_recipe(preset: str, gpu: bool | None = None) -> TrainConfig:
    """The preset's recipe as the app offers it: unchanged on a GPU, lighter on a CPU."""
    gpu = torch.cuda.is_available() if gpu is None else gpu
    extra = {} if gpu else CPU_RECIPE.get(preset, {}) | {"model": CPU_MODEL.get(preset, {})}
    return TrainConfig.for_preset(preset, steps=1, **extra)


def _env_num(name: str, default: float, lo: float, hi: float) -> float:
    raw = os.environ.get(name)
    try:
        v = float(raw) if raw is not None else default
    except ValueError:
        v = default
    return min(max(v, lo), hi) if math.isfinite(v) else default


@dataclass(frozen=True)
class Limits:
    max_concurrent_runs: int
    max_run_seconds: float
    max_samples: int
    max_upload_mb: float
    max_runs_per_session: int

    @classmethod
    def from_env(cls) -> "Limits":
        gpu = torch.cuda.is_available()
        return cls(int(_env_num("GAN_MAX_CONCURRENT_RUNS", 4 if gpu else 1, 1, 64)),
                   _env_num("GAN_MAX_RUN_SECONDS", 300 if gpu else 120, 1, 24 * 3600),
                   int(_env_num("GAN_MAX_SAMPLES", 100, 1, 400)),
                   _env_num("GAN_MAX_UPLOAD_MB", 20, 0.01, 1024),
                   int(_env_num("GAN_MAX_RUNS_PER_SESSION", 5, 1, 100)))


# --------------------------------------------------------------------------- models
class ModelLibrary:
    """Pretrained generators from weights/, loaded lazily, with their model-card metrics."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR, device: str = "cpu"):
        self.dir = Path(weights_dir)
        self.device = device
        self._models: dict[str, tuple[GeneratorModel, Explorer]] = {}
        self._discriminators: dict[str, tuple[torch.nn.Module, dict]] = {}
        self._lock = threading.Lock()
        card = self.dir / "metrics.json"
        self.metrics = json.loads(card.read_text()) if card.is_file() else {}

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        names = sorted(p.stem for p in self.dir.glob("*.safetensors") if p.stem != "mnist_classifier")
        return tuple(sorted(names, key=lambda n: (n != DEFAULT_MODEL, n)))

    def names(self) -> list[str]:
        return list(self._names)

    def label(self, name: str) -> str:
        from gan.registry import get_preset
        m = self.metrics.get(name, {})
        score = f" - FID {m['fid_ratio']:.0f}x floor, {m['modes']} modes" if m else ""
        try:
            return f"{name}: {get_preset(name).description}{score}"
        except ValueError:
            return name

    def discriminator(self, name: str) -> tuple[torch.nn.Module, dict] | None:
        """The probe's D for a shipped generator (weights/discriminators/, from ``gan fit-d``), if any."""
        path = self.dir / "discriminators" / f"{name}.safetensors"
        if name not in self.names() or not path.is_file():
            return None
        with self._lock:
            if name not in self._discriminators:
                from gan.discriminators import load_discriminator
                self._discriminators[name] = load_discriminator(path)
            return self._discriminators[name]

    def get(self, name: str) -> tuple[GeneratorModel, Explorer]:
        if name not in self.names():
            raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(self.names())}")
        with self._lock:
            if name not in self._models:
                model = load_generator(self.dir / f"{name}.safetensors", device=self.device)
                self._models[name] = (model, Explorer(model))
            return self._models[name]


# --------------------------------------------------------------------------- runs
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
    trainer: object | None = None
    discriminator: torch.nn.Module | None = None        # CPU copy, for the probe

    def finish(self, status: str, message: str, trainer) -> None:
        if trainer is not None:
            self.model = from_trainer(trainer)
            self.discriminator = copy.deepcopy(trainer.D).float().cpu().eval()
        self.explorer = Explorer(self.model) if self.model is not None else None
        self.status, self.message = status, message
        self.trainer = None                             # frees D, optimizers and data
        self.done.set()


class Session:
    """Everything one visitor owns; dropped (and its runs stopped) when the tab closes."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.runs: dict[str, Run] = {}
        self.uploads: dict[str, tuple[GeneratorModel, Explorer]] = {}
        self.lock = threading.Lock()
        self.started = 0                                # runs ever started: names stay unique

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
    from gan.checkpoint import save_generator
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run.name)
    path = Path(folder) / f"{safe}-{id(run)}.safetensors"
    if not path.exists():
        save_generator(path, run.model.G.state_dict(), run.model.preset, run.model.mcfg.to_dict(), run.cfg.to_dict(),
                       run.step)
    return path


def warm_up(model_library: "ModelLibrary | None" = None) -> None:
    """What the first visitor would otherwise wait for: the evaluator's reference features
    (~10 s on a CPU, needed by the first quality check) and the default model with its slider
    directions. Best effort: without MNIST the check reports its own error later."""
    try:
        if model_library is not None:
            model_library.get(DEFAULT_MODEL)[1].pca_directions
        from gan.evaluate import reference
        reference()
    except Exception:  # noqa: BLE001 - warming is optional; the real call reports the problem
        pass


def quick_quality(model: GeneratorModel, n: int = 500, seed: int = 4242) -> dict:
    """Small-sample FID ratio and class histogram (the mode-collapse meter)."""
    from gan.evaluate import score_images
    labels = torch.arange(n) % 10 if model.conditional else None
    imgs = torch.from_numpy(model.generate(model.latents(seed, n), labels))
    s = score_images(imgs, pr=False)
    return {"fid_ratio": s["fid_ratio"], "modes": s["modes"], "class_hist": s["class_hist"]}


def start_run(session: Session, cfg: TrainConfig, data, quality_every: int = 0, init_from: GeneratorModel | None = None,
              name: str | None = None, foreground=None) -> tuple[Run, threading.Thread]:
    """Start ``train`` in a thread; the Run fills in as progress arrives. With a
    ``gan.priority.Foreground``, the run pauses between steps while renders are in flight."""
    from gan.loop import train, total_steps
    from gan.training import Trainer
    run = Run(name=name or "", cfg=cfg, control=RunControl(foreground=foreground))
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
        if quality_every and p.step and (p.step // quality_every) != ((run.history[-2]["step"] if len(run.history) > 1 else 0) // quality_every):
            model = from_trainer(trainer)
            run.quality.append({"step": p.step} | quick_quality(model))

    def body():
        nonlocal trainer
        try:
            trainer = Trainer(cfg, data)
            if init_from is not None:
                trainer.G.load_state_dict(init_from.G.state_dict())
                if trainer.G_ema is not None:
                    trainer.G_ema.load_state_dict(init_from.G.state_dict())
            run.total = total_steps(cfg, len(trainer.data))
            run.status = "running"
            result = train(cfg, progress=progress, trainer=trainer, control=run.control)
            run.finish(result.status, result.message, result.trainer)
        except torch.cuda.OutOfMemoryError:
            run.finish("failed", "the GPU ran out of memory; try a smaller batch", None)
        except Exception as e:  # noqa: BLE001 - reported to the visitor, never crashes the server
            run.finish("failed", f"{type(e).__name__}: {e}", None)
        finally:
            trainer = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    trainer = None
    thread = threading.Thread(target=body, name=f"train-{uuid.uuid4().hex[:6]}", daemon=True)
    thread.start()
    return run, thread


def loss_frame(runs: list[Run], keys=("d_loss", "g_loss"), max_points: int = 400):
    """Long-format DataFrame (step, value, series) for gr.LinePlot, downsampled per series."""
    import pandas as pd
    rows = []
    for run in runs:
        hist = run.history
        stride = max(1, math.ceil(len(hist) / max_points))
        for h in hist[::stride]:
            for k in keys:
                if h.get(k) is not None and math.isfinite(h[k]):
                    rows.append({"step": h["step"], "value": h[k], "series": f"{run.name}: {k}" if len(runs) > 1 else k})
    return pd.DataFrame(rows, columns=["step", "value", "series"])


# --------------------------------------------------------------------------- explore
def render(explorer: Explorer, seed, n, sliders, digit=None, raw: bool = False, limits: Limits | None = None) -> np.ndarray:
    limits = limits or Limits.from_env()
    seed = check_int("seed", seed, 0, 2**31 - 1)
    n = check_int("number of digits", n, 1, limits.max_samples)
    sliders = [check_float(f"slider {i + 1}", s, -5, 5) for i, s in enumerate(sliders or [])]
    if digit in (None, "", "all"):
        digit = None
    else:
        digit = check_int("digit", digit, 0, 9)
    return explorer.grid(seed, n, sliders, digit if explorer.model.conditional else None, raw)


def interpolation(model: GeneratorModel, seed_a, seed_b, frames, digit_a=None, digit_b=None):
    """(strip image, list of frames) between two seeds (and two digits for conditional models)."""
    seed_a, seed_b = check_int("seed A", seed_a, 0, 2**31 - 1), check_int("seed B", seed_b, 0, 2**31 - 1)
    frames = check_int("frames", frames, 2, 60)
    da = None if digit_a in (None, "", "all") else check_int("digit A", digit_a, 0, 9)
    db = None if digit_b in (None, "", "all") else check_int("digit B", digit_b, 0, 9)
    imgs = model.interpolate(seed_a, seed_b, frames, da, db if model.conditional else None)
    return make_grid(imgs, nrow=frames).numpy(), imgs


def write_gif(frames: np.ndarray, path: Path, scale: int = 4, ms: int = 80) -> Path:
    from PIL import Image
    pics = [Image.fromarray(f).resize((28 * scale, 28 * scale), Image.NEAREST) for f in frames]
    pics = pics + pics[-2:0:-1]                               # ping-pong loop
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=ms, loop=0)
    return path


def probe(digit_u8: np.ndarray, discriminator=None, output: str = "tanh", loss: str = "non-saturating") -> dict:
    """The evaluator's class probabilities and, when a discriminator is given, its "real" score."""
    from gan.evaluator import embed
    from gan.losses import d_probability
    from gan.pixels import from_pixels
    _, probs = embed(torch.from_numpy(digit_u8[None]))
    out = {"class": int(probs[0].argmax()), "probs": probs[0].tolist()}
    if discriminator is not None:
        D = copy.deepcopy(discriminator).float().eval().cpu()
        x = from_pixels(torch.from_numpy(digit_u8[None]), output)
        with torch.no_grad():
            if getattr(D, "embed", None) is not None:        # projection D: score under the evaluator's class
                logit = D(x, torch.tensor([out["class"]]))
            else:
                logit = D(x, None)
        out["real_score"] = float(d_probability(logit, loss)[0])
    return out


def elapsed_eta(run: Run) -> tuple[float, float | None]:
    if run.total:
        frac = run.step / max(run.total, 1)
    elif run.cfg.seconds:
        frac = run.elapsed / run.cfg.seconds
    else:
        return run.elapsed, None
    frac = min(max(frac, 1e-6), 1.0)
    return frac, run.elapsed * (1 - frac) / frac



def pd_frame(rows: list[dict], columns: list[str]):
    import pandas as pd
    return pd.DataFrame(rows, columns=columns)


def on_gpu() -> bool:
    return torch.cuda.is_available()
