"""The app's endpoints as plain methods of one ``Playground``: a named request and the
visitor's session key in, plain values out (arrays, text, DataFrames, ``KEEP`` / ``Update``).
``app.py`` only lays out widgets and wires them here; the tests call these directly too.

A visitor's mistake raises ValueError with a message naming the field (the UI shows it, the
server logs one line); anything else is a fault and is logged with its traceback."""
from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from gan.app import background, pictures
from gan.app.charts import train_outputs
from gan.app.library import DEFAULT_MODEL, ModelLibrary, warm_up
from gan.app.limits import Limits, on_gpu
from gan.app.memory import limit_malloc_arenas, settle_after_warm_up
from gan.app.priority import Foreground
from gan.app.render_batch import RenderBatcher
from gan.app.requests import (
    SEED_RANGE,
    ControlRequest,
    InterpolateRequest,
    ProbeRequest,
    RenderRequest,
    TrainRequest,
    check_bool,
    fields_of,
)
from gan.app.runs import LIVE_VIEW_EVERY, QUALITY_EVERY, Session, SessionStore, app_recipe, export_run, start_run
from gan.app.threads import one_thread_per_request
from gan.app.updates import KEEP, Update
from gan.engine.data import MNISTNotFound, load_mnist
from gan.engine.options import FORM_OPTIONS, check_float
from gan.evaluation.neighbours import training_set
from gan.evaluation.projection import real_projection
from gan.inference.explore import N_SLIDERS
from gan.inference.inversion import invert
from gan.inference.latent_map import latent_map
from gan.models.gallery import case_config, get_failure
from gan.models.model_summary import model_markdown
from gan.models.registry import get_preset

log = logging.getLogger("gan.app")
RUN_PREFIX = "my "
UPLOAD_PREFIX = "upload: "
CONTROL_ACTIONS = ("pause", "resume", "stop", "d", "g", "both", "lr")
FRAME_GAP = 0.1                         # seconds between two frames of a run's stream, at least
MAPS_KEPT = 16                          # latent maps kept (every shipped model's and a few of visitors')


class Playground:
    """Everything the app serves, shared by all visitors: the model library, the sessions, the
    training limits and, on a CPU, the renders-first priority between sliders and training."""

    def __init__(self, limits: Limits | None = None, library: ModelLibrary | None = None, tmp: Path | None = None):
        self.limits = limits or Limits.from_env()
        self.library = library or ModelLibrary()
        self.sessions = SessionStore(self.limits)
        self.foreground = Foreground()        # on a CPU, training yields to slider renders between steps
        self.renders = RenderBatcher()         # concurrent renders of one model: one forward pass
        self.training_slots = threading.BoundedSemaphore(self.limits.max_concurrent_runs)
        self.tmp = Path(tmp or Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "gan-playground")
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.warm_up: threading.Thread | None = None
        self._stop_warming = threading.Event()  # set at exit: the warm-ups end between their pieces
        self.gpu_lease = None                 # ZeroGPU: spaces.GPU around bursts.burst_in_worker (app.py sets it)
        self._maps: dict[int, tuple] = {}     # id(model) -> (model, its LatentMap), the newest MAPS_KEPT
        self._maps_lock = threading.Lock()

    def start(self) -> "Playground":
        """Warm what visitors would wait for (every model, evaluator features), in the background;
        bound malloc's arenas and (on a CPU) each request's threads first, before the request
        threads exist (gan/app/memory.py, gan/app/threads.py)."""
        limit_malloc_arenas()
        if not on_gpu():
            one_thread_per_request()
        self.warm_up = background.start(self._warm, "warm-up", stop=self._stop_warming.set)
        return self

    def _warm(self) -> None:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])   # the first optimizer imports torch._dynamo: ~2 s
        warm_up(self.library, stop=self._stop_warming)
        if self._stop_warming.is_set():
            return
        try:
            self.mnist                          # the first Start then trains at once
        except MNISTNotFound:
            pass                                # reported to the visitor who starts a run
        settle_after_warm_up()                  # later full collections skip what start-up built
        if not self._stop_warming.is_set():
            background.start(self._warm_maps, "warm-maps", stop=self._stop_warming.set)

    def _warm_maps(self) -> None:
        """The real digits' map and the training digits' features (the nearest-digit lookups: ~5 s
        on a CPU the first time, then read from the disk cache), after everything visitors need first."""
        try:
            for piece in (real_projection, training_set):
                if self._stop_warming.is_set():
                    return
                piece()
        except Exception:  # noqa: BLE001 - warming is optional; the real call reports the problem
            pass

    @functools.cached_property
    def mnist(self):
        return load_mnist("train", download=True)

    def session(self, key: str | None) -> Session:
        return self.sessions.get(key or "anonymous")

    # ------------------------------------------------------------------ models
    def resolve(self, key, session: Session):
        """Model-list value -> (GeneratorModel, Explorer, run or None)."""
        if not isinstance(key, str):
            raise ValueError(f"model must be a name from the list, got {key!r}")
        if key.startswith(RUN_PREFIX):
            run = session.runs.get(key[len(RUN_PREFIX):])
            if run is None or run.explorer is None:
                raise ValueError(f"{key!r} is not available (still training, failed, or removed)")
            return run.model, run.explorer, run
        if key.startswith(UPLOAD_PREFIX):
            if key[len(UPLOAD_PREFIX):] not in session.uploads:
                raise ValueError(f"{key!r} is not loaded any more; upload it again")
            return *session.uploads[key[len(UPLOAD_PREFIX):]], None
        return *self.library.get(key), None

    def model_choices(self, session: Session) -> list[tuple[str, str]]:
        runs = [(f"{RUN_PREFIX}{name} - {r.status}", f"{RUN_PREFIX}{name}") for name, r in session.runs.items()
                if r.model is not None]
        uploads = [(f"{UPLOAD_PREFIX}{name}", f"{UPLOAD_PREFIX}{name}") for name in session.uploads]
        return self.library.choices() + runs + uploads

    def model_info(self, model: str, session_key: str | None = None):
        """(card text, digit picker, download-model button, layer table, interpolation's digit A and B) for
        the chosen model; the digit pickers only work for conditional models, elsewhere they show "all"."""
        gen, _, run = self.resolve(model, self.session(session_key))
        lines = [f"**{gen.preset}** - {get_preset(gen.preset).description}"]
        card = self.library.card_line(model)
        if card:
            lines.append(card)
        if run is not None:
            lines.append(f"Your run: {run.status} after {run.step} steps. {run.message}")
            path = str(export_run(run, self.tmp))
        elif model.startswith(UPLOAD_PREFIX):
            path = None                                 # the visitor's own file: nothing to hand back
        else:
            path = str(self.library.dir / f"{model}.safetensors")
        digit = Update(interactive=True) if gen.conditional else Update(interactive=False, value="all")
        return "\n\n".join(lines), digit, Update(value=path), self.diagram(gen), digit, digit

    @staticmethod
    def diagram(gen) -> str:
        """G's and D's layers with their output shapes and parameter counts (from the modules)."""

        return model_markdown(gen.preset, json.dumps(gen.mcfg.to_dict(), sort_keys=True))

    def upload_weights(self, path, session_key: str | None = None):
        session = self.session(session_key)
        name = session.add_upload(path)
        key = f"{UPLOAD_PREFIX}{name}"
        return Update(choices=self.model_choices(session), value=key), f"Loaded **{name}**: pick it above to explore it."

    # ------------------------------------------------------------------ explore
    def render(self, req: RenderRequest, session_key: str | None = None):
        _, explorer, _ = self.resolve(req.model, self.session(session_key))
        with self.foreground.request():
            grid = pictures.render(explorer, req.parse(self.limits), self.renders, session_key,
                                   self.session(session_key).picks.get(req.model))
        return KEEP if grid is None else grid               # None: this visitor's newer request is drawing

    @staticmethod
    def reseed() -> int:
        return int(np.random.default_rng().integers(*SEED_RANGE))

    def interpolate(self, req: InterpolateRequest, session_key: str | None = None):
        session = self.session(session_key)
        gen, _, _ = self.resolve(req.model, session)
        with self.foreground.request():
            strip, imgs = pictures.interpolation(gen, req.parse(), session.picks.get(req.model))
        gif = pictures.write_gif(imgs, self.tmp / f"interp-{time.time_ns()}.gif")
        return pictures.enlarge(strip, 4), str(gif)

    @staticmethod
    def check_drawing(req: ProbeRequest, session_key: str | None = None) -> None:
        """Refuse an empty, unreadable or too small drawing before the step that draws from it (so
        that a refusal is a message, not an error on every picture and slider it would have changed)."""
        req.drawing()

    def probe(self, req: ProbeRequest, session_key: str | None = None):
        gen, _, run = self.resolve(req.model, self.session(session_key))
        digit = req.drawing()
        if run is not None:
            disc, loss, whose = run.discriminator, run.cfg.loss, "your run's discriminator"
        else:
            fitted = self.library.discriminator(req.model)
            disc, loss = (fitted[0], fitted[1]["loss"]) if fitted else (None, "")
            whose = f"a discriminator fitted to {req.model} ({fitted[1]['steps']} steps)" if fitted else ""
        with self.foreground.request():
            res = pictures.probe(digit, disc, gen.mcfg.output, loss or "non-saturating")
        labels = {str(i): p for i, p in enumerate(res["probs"])}
        note = (f"Real or generated? {whose} says **{res['real_score']:.1%} real**." if "real_score" in res else
                "No discriminator for this model: train a run to probe its own.")
        return pictures.enlarge(digit, 8), labels, note

    # ------------------------------------------------------------------ inside the generator
    def find_digit(self, req: ProbeRequest, raw=False, session_key: str | None = None) -> Iterator[tuple]:
        """Stream the search for the visitor's drawing in the model (outputs: the drawing as the model
        sees it, the best match so far, words, its nearest training digits, their verdict, the
        start-from-pick box, the sliders); the match becomes the visitor's pick for the model, and the
        sliders move to its coordinates (along the raw dimensions when ``raw``)."""
        session = self.session(session_key)
        gen, explorer, _ = self.resolve(req.model, session)
        raw = check_bool("raw", raw)
        target = req.drawing()
        seen, t0 = pictures.enlarge(target, 8), time.perf_counter()
        search = invert(gen, target)
        while True:
            with self.foreground.request():             # the search is interactive work: training waits
                m = next(search)
            if m.done:
                break
            yield (seen, pictures.enlarge(m.image, 8), f"Searching... step {m.step}: {m.distance:.0f} grey levels "
                   "from your drawing (root-mean-square).", KEEP, KEEP, KEEP, *[KEEP] * N_SLIDERS)
        took = time.perf_counter() - t0
        pick = session.picks[req.model] = pictures.Pick.of(explorer, m.z, m.label, "your drawing", raw)
        near = training_set().nearest(m.image)[0]
        cls = pictures.probe(m.image)["class"]
        words = (f"Found in {took:.1f} s: {m.distance:.0f} grey levels from your drawing "
                 f"(root-mean-square; 0 = identical). The evaluator reads the match as a **{cls}**"
                 + (f", drawn as class {m.label}" if m.label is not None else "")
                 + ". The grid now starts from it, and the sliders show where it lies.")
        yield (seen, pictures.enlarge(m.image, 8), words, pictures.neighbours_strip(m.image, near.images),
               nearest_words(near), Update(value=True), *pick.sliders)

    def nearest(self, req: RenderRequest, x, y, session_key: str | None = None):
        """The training digits nearest to the grid's digit under a click at (x, y): (strip, words)."""
        session = self.session(session_key)
        _, explorer, _ = self.resolve(req.model, session)
        r = req.parse(self.limits)
        i = pictures.cell_at(check_float("x", x, 0, 10**5), check_float("y", y, 0, 10**5), r.n)
        if i is None:
            return KEEP, "That was the gap between two digits: click on a digit."
        with self.foreground.request():
            grid_digit = pictures.digits(explorer, r, session.picks.get(req.model))[i]
            near = training_set().nearest(grid_digit)[0]
        return pictures.neighbours_strip(grid_digit, near.images), nearest_words(near, f"digit {i + 1} of the grid")

    def latent_map(self, model: str, session_key: str | None = None):
        """The map of the model's digits (``gan.inference.latent_map``), drawn once per model."""
        return self._map(model, self.session(session_key)).picture

    def pick_on_map(self, model: str, raw, x, y, session_key: str | None = None) -> tuple:
        """A click on the map: the nearest sample becomes the visitor's pick, the sliders move to its
        coordinates and the Explore tab starts from it (outputs: the start-from-pick box, the sliders, words)."""
        session = self.session(session_key)
        _, explorer, _ = self.resolve(model, session)
        raw = check_bool("raw", raw)
        m = self._map(model, session)
        i = m.pick(check_float("x", x, 0, 10**5), check_float("y", y, 0, 10**5))
        if i is None:
            return (KEEP, *[KEEP] * N_SLIDERS, "That was the legend: click on the map's points, above it.")
        label = int(m.labels[i]) if m.labels is not None else None
        pick = session.picks[model] = pictures.Pick.of(explorer, m.z[i], label, "the map", raw)
        return (Update(value=True), *pick.sliders,
                f"Picked a sample the evaluator reads as a **{int(m.classes[i])}**: the grid starts from it, "
                "and the sliders show where it lies.")

    def _map(self, model: str, session: Session):
        gen, _, _ = self.resolve(model, session)
        with self._maps_lock:
            if id(gen) in self._maps and self._maps[id(gen)][0] is gen:
                return self._maps[id(gen)][1]
        with self.foreground.request():
            m = latent_map(gen)
        with self._maps_lock:
            self._maps[id(gen)] = (gen, m)
            while len(self._maps) > MAPS_KEPT:
                del self._maps[next(iter(self._maps))]
        return m

    # ------------------------------------------------------------------ train
    def preset_defaults(self, preset, session_key: str | None = None) -> tuple:
        """The Train tab's Options for a preset, in ``FORM_OPTIONS`` order."""
        r = app_recipe(preset)
        return tuple(o.form_value(getattr(r, o.name)) for o in FORM_OPTIONS)

    def train(self, req: TrainRequest, session_key: str | None = None) -> Iterator[tuple]:
        """Stream the Train tab's outputs (``charts.TRAIN_OUTPUTS`` + the model list) until the run ends."""
        session = self.session(session_key)
        if session.active() is not None:
            raise ValueError("you already have a run going: stop it first")
        recipe = app_recipe(req.preset)
        init_model = self.library.get(req.preset)[0] if req.init == "pretrained" and req.preset in self.library.names() \
            else None
        if init_model is not None:                      # the shipped file's architecture (full width), not the
            recipe.model = init_model.mcfg.to_dict()    # CPU recipe's half-width networks it cannot load into
        cfg = req.to_config(self.limits, recipe)
        try:
            data = self.mnist
        except MNISTNotFound as e:
            log.warning("training refused, MNIST not found: %s", e)    # paths and fixes are for the host
            raise ValueError("training is not available on this server: it cannot find the MNIST digits to "
                             "train on (its log says why). Exploring the pretrained models still works") from None
        run, thread = start_run(session, cfg, data, quality_every=QUALITY_EVERY, init_from=init_model,
                                foreground=None if on_gpu() else self.foreground, slots=self.training_slots,
                                live_view_every=LIVE_VIEW_EVERY, lease=self.gpu_lease)
        run.note = length_note(req, cfg, init_model is not None)
        try:
            sent: dict = {}
            run.watched_at = time.monotonic()
            yield train_outputs(run, session, sent=sent) + (KEEP,)
            while not run.done.is_set():
                run.watched_at = time.monotonic()       # the stream is being read (see Run.abandoned)
                run.changed.wait(0.5)                   # a new picture goes out as soon as it exists,
                run.changed.clear()                     # the status line at least twice a second
                if not run.done.is_set():
                    yield train_outputs(run, session, sent=sent) + (KEEP,)
                    time.sleep(FRAME_GAP)
            yield train_outputs(run, session, final=True) + (Update(choices=self.model_choices(session)),)
        finally:
            run.control.stop()                          # visitor left or the event was cancelled
            thread.join(timeout=10)

    def control(self, action: str, req: ControlRequest, session_key: str | None = None) -> str:
        if action not in CONTROL_ACTIONS:
            raise ValueError(f"unknown control {action!r}")
        lr_g, lr_d = req.learning_rates()
        run = self.session(session_key).active()
        if run is None:
            raise ValueError("no run is going")
        if action == "lr":
            if lr_g is None or lr_d is None:
                raise ValueError("lr_g and lr_d: set both learning rates to apply them")
            run.control.set_lr(lr_g, lr_d)
            return f"learning rates set to G {lr_g:g}, D {lr_d:g}"
        {"pause": run.control.pause, "resume": run.control.resume, "stop": run.control.stop}.get(
            action, lambda: run.control.request_step(action))()
        return {"pause": "paused", "resume": "running again", "stop": "stopping"}.get(action, f"step {action}: ok")

    # ------------------------------------------------------------------ failure gallery
    @staticmethod
    def gallery_text(name: str, session_key: str | None = None) -> str:
        f = get_failure(name)
        return (f"**{f.title}.** {f.what}\n\n*Look at:* {f.chart}\n\n*The fix:* {f.fix_what}\n\n"
                "Each button fills in the recipe and starts it; the fix's run lands beside the failure's "
                "in *Compare your runs*.")

    @staticmethod
    def gallery_form(name: str, session_key: str | None = None, fix: bool = False) -> tuple:
        """The Train tab's inputs (in TrainRequest's field order) for a failure's recipe or its fix."""
        c = case_config(name, fix)
        req = TrainRequest.from_config(c, length_kind="steps", length=c.steps, seed=c.seed, init=get_failure(name).init)
        return tuple(getattr(req, f) for f in fields_of(TrainRequest))

    def leave(self, session_key: str | None) -> None:
        self.sessions.drop(session_key or "anonymous")


def length_note(req: TrainRequest, cfg, pretrained: bool) -> str:
    """What the visitor asked for that the run does differently: the server's length cap, and a
    pretrained start at the shipped file's (full) width."""
    notes = []
    asked = req.length if req.length_kind == "seconds" else None
    if asked is not None and float(asked) > cfg.seconds:
        notes.append(f"This server stops runs after {cfg.seconds:.0f} s, so this one is {cfg.seconds:.0f} s "
                     f"instead of the {float(asked):g} s asked.")
    if pretrained:
        notes.append("Started from the shipped generator, at its full width.")
    return " ".join(notes)


def nearest_words(near, what: str = "the match") -> str:
    """The neighbours' distances and their verdict, in a learner's words."""
    dists = ", ".join(f"{d:.2f}" for d in near.distances)
    return (f"Nearest training digits to {what} (left), in the evaluator's features: distances {dists} "
            f"(a new real digit's nearest is typically {near.typical:.2f} away). {near.verdict}")


__all__ = ["Playground", "DEFAULT_MODEL", "RUN_PREFIX", "UPLOAD_PREFIX"]
