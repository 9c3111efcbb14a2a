"""One named request per endpoint, and the one place a visitor's values are checked. The app
builds its inputs, the load tool and the tests their calls, all by field name from these
dataclasses (``fields_of(RenderRequest)`` gives the API's parameter names in order).

Every value arrives as a script may send it (strings, lists, NaN, huge numbers); ``parse`` /
``to_config`` turn it into typed values or a ValueError that names the field. The Train tab's
options are the rows of ``gan.engine.options.FORM_OPTIONS`` (their fields, ranges and labels);
the sliders' fields follow ``N_SLIDERS``. Empty training options (None, "" or no digits) mean
the preset's default, so a form submitted before it was filled still works.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gan.app.inputs import decode_drawing
from gan.app.limits import Limits
from gan.engine.config import TrainConfig
from gan.engine.options import FORM_OPTIONS, OPTION, check_choice, check_float, check_int
from gan.inference.explore import N_SLIDERS, SLIDER_RANGE

ALL = "all"                                    # the digit pickers' "every digit"
SEED_RANGE = (0, 2**31 - 1)                    # seeds a visitor types: renders, interpolations, runs
FRAMES_RANGE = (2, 30)                         # an interpolation's frames
SLIDER_FIELDS = tuple(f"s{i + 1}" for i in range(N_SLIDERS))
LENGTH_KINDS = ("seconds", "steps")
INITS = ("scratch", "pretrained")


def fields_of(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _digit(name: str, value) -> int | None:
    return None if value in (None, "", ALL) else check_int(name, value, 0, 9)


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple)) and not value)


# ---------------------------------------------------------------------- Explore
@dataclass(frozen=True)
class Render:
    """A checked render: what the generator draws."""

    seed: int
    n: int
    digit: int | None = None                    # None: 0-9 repeating (conditional models)
    raw: bool = False
    sliders: tuple[float, ...] = ()
    picked: bool = False                        # start from the visitor's picked digit (a drawing found, a map click)


class _RenderFields:
    @property
    def sliders(self) -> list:
        return [getattr(self, f) for f in SLIDER_FIELDS]

    def parse(self, limits: Limits) -> Render:
        for name in ("raw", "picked"):
            check_bool(name, getattr(self, name))
        return Render(seed=check_int("seed", self.seed, *SEED_RANGE),
                      n=check_int("n (number of digits)", self.n, 1, limits.max_samples),
                      digit=_digit("digit", self.digit), raw=self.raw, picked=self.picked,
                      sliders=tuple(check_float(f"{f} (slider {i + 1})", getattr(self, f), *SLIDER_RANGE)
                                    for i, f in enumerate(SLIDER_FIELDS)))


RenderRequest = dataclasses.make_dataclass(
    "RenderRequest", [("model", str, "cgan"), ("seed", Any, 0), ("n", Any, 50), ("digit", Any, ALL), ("raw", Any, False),
                        ("picked", Any, False)]
    + [(f, Any, 0.0) for f in SLIDER_FIELDS], bases=(_RenderFields,))
RenderRequest.__module__ = __name__


@dataclass(frozen=True)
class Interpolation:
    seed_a: int
    seed_b: int
    frames: int
    digit_a: int | None
    digit_b: int | None
    picked: bool = False                        # the A end is the visitor's picked digit


@dataclass
class InterpolateRequest:
    model: str = "cgan"
    seed_a: Any = 1
    seed_b: Any = 2
    frames: Any = 10
    digit_a: Any = ALL
    digit_b: Any = ALL
    picked: Any = False

    def parse(self) -> Interpolation:
        check_bool("picked", self.picked)
        return Interpolation(check_int("seed_a", self.seed_a, *SEED_RANGE), check_int("seed_b", self.seed_b, *SEED_RANGE),
                             check_int("frames", self.frames, *FRAMES_RANGE),
                             _digit("digit_a", self.digit_a), _digit("digit_b", self.digit_b), self.picked)


@dataclass
class ProbeRequest:
    model: str = "cgan"
    sketch: Any = None
    upload: Any = None

    def drawing(self):
        """The upload if there is one, else the sketch, as an MNIST-like uint8 (28, 28)."""
        return decode_drawing(self.upload if self.upload is not None else self.sketch)


# ---------------------------------------------------------------------- Train
@dataclass
class ControlRequest:
    lr_g: Any = None
    lr_d: Any = None

    def learning_rates(self) -> tuple[float | None, float | None]:
        """(lr_g, lr_d), each None when left empty."""
        return tuple(None if _empty(v) else OPTION[name].parse(v) for name, v in (("lr_g", self.lr_g), ("lr_d", self.lr_d)))


class _TrainFields:
    @classmethod
    def filled(cls, preset: str = "cgan", **fields):
        """A request with every option filled in from the app's recipe for ``preset``, as the
        form shows it (API clients must send every value), ``fields`` on top."""
        from gan.app.runs import app_recipe  # runs imports this module
        return cls.from_config(app_recipe(preset), **fields)

    @classmethod
    def from_config(cls, cfg: TrainConfig, **fields):
        """The form's values for ``cfg`` (a recipe, a gallery case), ``fields`` on top."""
        options = {o.name: o.form_value(getattr(cfg, o.name)) for o in FORM_OPTIONS}
        return cls(**({"preset": cfg.preset} | options | fields))

    def to_config(self, limits: Limits, recipe: TrainConfig) -> TrainConfig:
        """The run's TrainConfig: ``recipe`` (the app's recipe for the preset) with this
        request's non-empty options on top, every value checked against the form's ranges."""
        check_choice("init (start from)", self.init, INITS)
        kind = check_choice("length_kind (length in)", self.length_kind, LENGTH_KINDS)
        length = check_float("length", self.length, 1, 10**7)
        options = {o.name: getattr(recipe, o.name) if _empty(getattr(self, o.name)) else o.parse(getattr(self, o.name), form=True)
                   for o in FORM_OPTIONS}
        return TrainConfig.for_preset(
            self.preset, **options, seed=check_int("seed", self.seed, *SEED_RANGE),
            steps=check_int("length (steps)", length, 1, 10**7) if kind == "steps" else None,
            seconds=min(length if kind == "seconds" else limits.max_run_seconds, limits.max_run_seconds),
            log_every=5, sample_every=10**6, sample_seconds=0.4, model=recipe.model)


TrainRequest = dataclasses.make_dataclass(
    "TrainRequest", [("preset", Any, "cgan"), ("length_kind", Any, "seconds"), ("length", Any, 60)]
    + [(o.name, Any, None) for o in FORM_OPTIONS]               # None / "": the preset's own
    + [("seed", Any, 0), ("init", Any, "scratch")], bases=(_TrainFields,))
TrainRequest.__module__ = __name__


def api_call(req) -> dict:
    """The request as keyword arguments for an API client: ``client.predict(**api_call(req), api_name=...)``."""
    return dataclasses.asdict(req)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def render_args(model: str, seed, n, digit=ALL, raw=False, *sliders) -> dict:
    """Keyword arguments of one /render call (sliders beyond those given stay at 0)."""
    return api_call(RenderRequest(model=model, seed=seed, n=n, digit=digit, raw=raw, **dict(zip(SLIDER_FIELDS, sliders))))
