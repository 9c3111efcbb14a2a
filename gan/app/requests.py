"""One named request per endpoint. The app builds its inputs, the load tool and the tests their
calls, all by field name from these dataclasses: adding an option is one field here (plus its
widget). ``fields_of(RenderRequest)`` gives the API's parameter names in order.

Every value arrives as a script may send it (strings, lists, NaN, huge numbers); the checks
here turn each wrong one into a ValueError that names the field. Empty training options
(None or "") mean the preset's default, so a form submitted before it was filled still works.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gan.app.inputs import check_float, check_int
from gan.app.limits import Limits
from gan.engine.config import LR_RANGE
from gan.inference.explore import N_SLIDERS


def fields_of(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _empty(value) -> bool:
    return value is None or value == ""


@dataclass
class RenderRequest:
    model: str = "cgan"
    seed: Any = 0
    n: Any = 50
    digit: Any = "all"
    raw: Any = False
    s1: Any = 0.0
    s2: Any = 0.0
    s3: Any = 0.0
    s4: Any = 0.0
    s5: Any = 0.0
    s6: Any = 0.0
    s7: Any = 0.0
    s8: Any = 0.0

    @property
    def sliders(self) -> list:
        return [getattr(self, f"s{i + 1}") for i in range(N_SLIDERS)]


@dataclass
class InterpolateRequest:
    model: str = "cgan"
    seed_a: Any = 1
    seed_b: Any = 2
    frames: Any = 10
    digit_a: Any = "all"
    digit_b: Any = "all"


@dataclass
class ProbeRequest:
    model: str = "cgan"
    sketch: Any = None
    upload: Any = None


@dataclass
class ControlRequest:
    lr_g: Any = None
    lr_d: Any = None


@dataclass
class TrainRequest:
    preset: Any = "cgan"
    length_kind: Any = "seconds"
    length: Any = 60
    loss: Any = None                # None / "": the preset's own (in the app's recipe)
    optimizer: Any = None
    lr_g: Any = None
    lr_d: Any = None
    d_steps: Any = None
    batch: Any = None
    smoothing: Any = None
    digits: Any = None              # list of digits; None / [] = all ten
    ema: Any = None
    seed: Any = 0
    init: Any = "scratch"           # scratch | pretrained

    @classmethod
    def filled(cls, preset: str = "cgan", **fields) -> "TrainRequest":
        """A request with every option filled in from the app's recipe for ``preset``, as the
        form shows it (API clients must send every value), ``fields`` on top."""
        from gan.app.runs import app_recipe
        r = app_recipe(preset)
        return cls(**(dict(preset=preset, loss=r.loss, optimizer=r.optimizer, lr_g=r.lr_g, lr_d=r.lr_d,
                           d_steps=r.d_steps, batch=r.batch_size, smoothing=r.label_smoothing,
                           digits=[str(d) for d in r.digits or []], ema=r.ema) | fields))

    def to_config(self, limits: Limits, recipe):
        """The run's TrainConfig: ``recipe`` (the app's recipe for the preset) with this
        request's non-empty options on top, every value checked against ``limits``."""
        from gan.engine.config import TrainConfig
        from gan.engine.losses import LOSSES
        _choice("init (start from)", self.init, ("scratch", "pretrained"))
        kind = _choice("length_kind (length in)", self.length_kind, ("seconds", "steps"))
        length = check_float("length", self.length, 1, 10**7)
        if self.digits is not None and not isinstance(self.digits, (list, tuple)):
            raise ValueError(f"digits must be a list of digits 0-9, got {self.digits!r}")
        digits = tuple(sorted({check_int("digits", d, 0, 9) for d in self.digits})) if self.digits else None

        def opt(name, value, check, *bounds):
            return getattr(recipe, name) if _empty(value) else check(*bounds[:1], value, *bounds[1:])

        return TrainConfig.for_preset(
            self.preset,
            loss=recipe.loss if _empty(self.loss) else _choice("loss", self.loss, LOSSES),
            optimizer=recipe.optimizer if _empty(self.optimizer) else _choice("optimizer", self.optimizer,
                                                                             ("adam", "rmsprop")),
            lr_g=opt("lr_g", self.lr_g, check_float, "lr_g (G learning rate)", *LR_RANGE),
            lr_d=opt("lr_d", self.lr_d, check_float, "lr_d (D learning rate)", *LR_RANGE),
            d_steps=opt("d_steps", self.d_steps, check_int, "d_steps (D steps)", 1, 10),
            batch_size=opt("batch_size", self.batch, check_int, "batch", 8, 1024),
            label_smoothing=opt("label_smoothing", self.smoothing, check_float, "smoothing (label smoothing)", 0, 0.5),
            ema=opt("ema", self.ema, check_float, "ema (EMA of G)", 0, 0.9999),
            seed=check_int("seed", self.seed, 0, 2**31 - 1),
            digits=digits if digits is not None else recipe.digits,
            steps=check_int("length (steps)", length, 1, 10**7) if kind == "steps" else None,
            seconds=min(length if kind == "seconds" else limits.max_run_seconds, limits.max_run_seconds),
            log_every=5, sample_every=10**6, sample_seconds=0.4, model=recipe.model)


def api_call(req) -> dict:
    """The request as keyword arguments for an API client: ``client.predict(**api_call(req), api_name=...)``."""
    return dataclasses.asdict(req)


def render_args(model: str, seed, n, digit="all", raw=False, *sliders) -> dict:
    """Keyword arguments of one /render call (sliders beyond those given stay at 0)."""
    return api_call(RenderRequest(model=model, seed=seed, n=n, digit=digit, raw=raw,
                                  **{f"s{i + 1}": s for i, s in enumerate(sliders)}))
