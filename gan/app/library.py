"""The shipped generators in weights/ (and the probe's discriminators fitted to them), loaded
once and shared by every visitor, with their model-card metrics from weights/metrics.json.
On a CPU with 8-bit dot products a model's renders run in int8 where that is accurate and
faster (gan/inference/int8_render.py; ``GAN_INT8=0`` turns it off)."""
from __future__ import annotations

import functools
import json
import os
import re
import threading
from pathlib import Path

import torch

from gan.evaluation.evaluate import reference
from gan.inference.discriminators import load_discriminator
from gan.inference.explore import Explorer
from gan.inference.int8_render import attach_int8
from gan.inference.sampling import GeneratorModel, load_generator
from gan.models.registry import get_preset, goal_shortfalls
from gan.paths import WEIGHTS_DIR
from gan.shipping.install import shipped_names

DEFAULT_MODEL = "cgan"


QUALITY_WORDS = ((2, "excellent"), (5, "good"), (15, "fair"), (60, "rough"))


def quality_word(m: dict) -> str:
    """How a shipped model looks, in a learner's words: from its FID / floor, or for a single-digit
    model from the share of its digit."""
    if "digit_share" in m:
        return "excellent" if m["digit_share"] >= 0.97 else "good" if m["digit_share"] >= 0.9 else "fair"
    return next((word for bound, word in QUALITY_WORDS if m["fid_ratio"] <= bound), "poor")


class ModelLibrary:
    """Pretrained generators from weights/, loaded lazily, with their model-card metrics."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR, device: str = "cpu", int8: bool | None = None):
        self.dir = Path(weights_dir)
        self.device = device
        self.int8 = os.environ.get("GAN_INT8", "1") != "0" if int8 is None else int8
        self.int8_reports: dict[str, dict] = {}      # name -> gan.inference.int8_render.attach_int8's measurements
        self._models: dict[str, tuple[GeneratorModel, Explorer]] = {}
        self._discriminators: dict[str, tuple[torch.nn.Module, dict]] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        card = self.dir / "metrics.json"
        self.metrics = json.loads(card.read_text()) if card.is_file() else {}

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(sorted(shipped_names(self.dir), key=lambda n: (n != DEFAULT_MODEL, n)))

    def names(self) -> list[str]:
        return list(self._names)

    def shortfalls(self, name: str) -> list[str]:
        """What the shipped file misses of its preset's goal (empty: at goal, or no card)."""
        m = self.metrics.get(name)
        return goal_shortfalls(get_preset(name).goal, m) if m else []

    def label(self, name: str) -> str:
        """The model list's entry, short enough for a phone: the name, what it is, how good it looks."""
        try:
            title = re.sub(r" \(.*\)", "", get_preset(name).description.split(":")[0])   # "Keras DCGAN (Atienza)"
        except ValueError:
            return name
        m = self.metrics.get(name)
        return f"{name} - {title}" + (f" ({quality_word(m)})" if m else "")

    def choices(self) -> list[tuple[str, str]]:
        return [(self.label(n), n) for n in self.names()]

    def card_line(self, name: str) -> str:
        """The model card in a learner's terms first (how good, how many digits), then the numbers;
        '' for models without a card."""
        m = self.metrics.get(name)
        if not m:
            return ""
        digits = (f"draws digit {m['digit']} ({m['digit_share']:.0%} of its samples)" if "digit_share" in m else
                  f"draws {m['modes']} of the 10 digits")
        line = (f"Quality: **{quality_word(m)}**, {digits}. FID {m['fid']:.3f}, {m['fid_ratio']:.1f}x what two sets "
                f"of real digits score; classifier score {m['classifier_score']:.2f}; precision {m['precision']:.2f}, "
                f"recall {m['recall']:.2f}.")
        short = self.shortfalls(name)
        return line + (f" Still being trained towards the model card's target: {'; '.join(short)}." if short else
                       " Meets the model card's target.")

    def discriminator(self, name: str) -> tuple[torch.nn.Module, dict] | None:
        """The probe's D for a shipped generator (weights/discriminators/, from ``gan fit-d``), if any."""
        path = self.dir / "discriminators" / f"{name}.safetensors"
        if name not in self.names() or not path.is_file():
            return None
        with self._lock:
            if name not in self._discriminators:
                self._discriminators[name] = load_discriminator(path)
            return self._discriminators[name]

    def get(self, name: str) -> tuple[GeneratorModel, Explorer]:
        if name not in self.names():
            raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(self.names())}")
        with self._lock:                         # one lock per model: a request waits for its own model's load only
            if name in self._models:
                return self._models[name]
            lock = self._loading.setdefault(name, threading.Lock())
        with lock:
            if name not in self._models:
                model = load_generator(self.dir / f"{name}.safetensors", device=self.device)
                explorer = Explorer(model, cache=True, shipped=self.dir / "directions.safetensors")
                explorer.pca_directions           # the sliders' directions, fitted once (in float)
                if self.int8:                     # renders in int8 where that is accurate and faster
                    self.int8_reports[name] = attach_int8(model)
                self._models[name] = (model, explorer)
            return self._models[name]


def warm_up(model_library: "ModelLibrary | None" = None, stop: threading.Event | None = None) -> None:
    """What a visitor would otherwise wait for: every shipped model with its slider directions
    (the default first, then the list's order), and the evaluator's reference features (~4 s
    on a CPU, needed by the first quality check). Best effort: without MNIST the check reports
    its own error later. ``stop`` (set at the process's exit) ends it before its next piece."""
    stop = stop or threading.Event()
    try:
        for name in model_library.names() if model_library is not None else ():
            if stop.is_set():
                return
            model_library.get(name)
        if not stop.is_set():
            reference()
    except Exception:  # noqa: BLE001 - warming is optional; the real call reports the problem
        pass
