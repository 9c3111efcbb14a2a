"""The training options a person sets, in one table that every edge reads: ``TrainConfig.validate``
(bounds), the app's ``TrainRequest`` (its fields and the Train tab's narrower ranges), the Train
tab's widgets (label, range, step), the CLI's flags (``--lr-g``) and "apply learning rates now".

Adding an option is its ``TrainConfig`` field (with its default), its row here and the code that
uses it. Values are checked once, where they enter: ``Option.parse`` takes what a form, a script
or a command line sends (numbers as strings too) and raises ValueError naming the option.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from gan.engine.losses import LOSSES

LR_RANGE = (1e-7, 1.0)                 # learning rates, wherever they are set
OPTIMIZERS = ("adam", "rmsprop")
STEP_ORDERS = ("d-first", "g-first")
D_FAKES = ("train", "eval")
ADVERSARIAL_D = ("frozen", "trained")


def _number(name: str, value) -> float:
    """A number (or a string holding one, as a dropdown sends digits); never a boolean, list or dict."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi], or ValueError naming the field."""
    if isinstance(value, int) and not isinstance(value, bool):
        f = value                                   # exact: a 64-bit seed survives
    else:
        f = _number(name, value)
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"{name} must be a whole number in [{lo}, {hi}], got {value!r}")
    if not lo <= f <= hi:
        raise ValueError(f"{name} must be a whole number in [{lo}, {hi}], got {value!r}")
    return int(f)


def check_float(name: str, value, lo: float, hi: float) -> float:
    """``value`` as a finite float in [lo, hi], or ValueError naming the field."""
    f = _number(name, value)
    if not math.isfinite(f) or not lo <= f <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return f


def check_number(name: str, value, lo, hi, integer: bool = False) -> None:
    """A value already typed (a config's): an int (or any number) in [lo, hi], or ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")


def check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_digits(name: str, value) -> tuple[int, ...] | None:
    """Distinct digits 0-9 in any order (numbers or strings, as a checkbox group sends them), sorted;
    None or an empty list: all ten."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of digits 0-9, got {value!r}")
    ds = [check_int(name, d, 0, 9) for d in value]
    if len(set(ds)) != len(ds):
        raise ValueError(f"{name} must be distinct digits 0-9, got {value!r}")
    return tuple(sorted(ds)) or None


@dataclass(frozen=True)
class Option:
    name: str                          # TrainConfig field, request field, CLI flag (--lr-g)
    kind: str                          # int | float | choice | digits
    bounds: tuple | Callable           # (lo, hi) any run accepts; the names for a choice (or what lists them)
    label: str                         # the Train tab's label
    form: tuple | None = None          # on the Train tab: (lo, hi, step) of its slider, () for a plain field
    help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def title(self) -> str:
        """How messages name it: the field a script sends and the label a visitor sees."""
        return f"{self.name} ({self.label})"

    @property
    def choices(self) -> tuple:
        return tuple(self.bounds() if callable(self.bounds) else self.bounds)

    def parse(self, value, form: bool = False):
        """What a visitor, a script or a command line sent, as this option's value (the Train
        tab's narrower range with ``form``); ValueError naming the option otherwise."""
        lo_hi = self.form[:2] if form and self.form else self.bounds
        if self.kind == "int":
            return check_int(self.title, value, *lo_hi)
        if self.kind == "float":
            return check_float(self.title, value, *lo_hi)
        if self.kind == "choice":
            return check_choice(self.title, value, self.choices)
        return check_digits(self.title, value)

    def check(self, value) -> None:
        """A config's value, which must already have the right type (no strings)."""
        if self.kind == "choice":
            check_choice(self.name, value, self.choices)
        elif self.kind == "digits":
            if value is not None and (not value or len(set(value)) != len(value) or not all(
                    isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 9 for d in value)):
                raise ValueError(f"digits must be distinct integers 0-9, got {value!r}")
        else:
            check_number(self.name, value, *self.bounds, integer=self.kind == "int")

    def form_value(self, value):
        """A config's value as the Train tab's widget holds it."""
        return [str(d) for d in value or []] if self.kind == "digits" else value


OPTIONS: tuple[Option, ...] = (
    Option("loss", "choice", lambda: LOSSES, "Loss", ()),           # registered losses, tests' too
    Option("optimizer", "choice", OPTIMIZERS, "Optimizer", ()),
    Option("lr_g", "float", LR_RANGE, "G learning rate", ()),
    Option("lr_d", "float", LR_RANGE, "D learning rate", ()),
    Option("lr_half_life", "int", (0, 10**9), "LR half-life", None,
           "generator steps after which both learning rates halve, smoothly (0 = constant)"),
    Option("d_steps", "int", (1, 100), "D steps per G step", (1, 10, 1), "discriminator steps per generator step"),
    Option("batch_size", "int", (2, 65536), "Batch size", (8, 1024, 8)),
    Option("label_smoothing", "float", (0.0, 0.5), "Label smoothing", (0.0, 0.5, 0.05),
           "one-sided: D's target for real digits is 1 - this"),
    Option("instance_noise", "float", (0.0, 2.0), "Instance noise", (0.0, 1.0, 0.05),
           "std of Gaussian noise added to every image D sees, real and fake (in G's output units)"),
    Option("ema", "float", (0.0, 0.99999), "EMA of G", (0.0, 0.9999, 0.0001), "EMA decay of G's weights (0 = off)"),
    Option("digits", "digits", (), "Train on digits", (), "only these digits (none = all ten); CLI: e.g. 0 or 3,5,8"),
    Option("d_pretrain_steps", "int", (0, 100_000), "D pre-training steps", None),
    Option("g_steps", "int", (1, 100), "G steps per D step", None, "generator steps per discriminator step"),
    Option("step_order", "choice", STEP_ORDERS, "Step order", None,
           "d-first: D's step, then G's; g-first: G's step, then D's on the same fakes (PyTorch-GAN)"),
    Option("d_fakes", "choice", D_FAKES, "D's fakes", None,
           "train: drawn by G in training mode and reused by G's step; eval: drawn as Keras' generator.predict does "
           "(dropout off, BatchNorm's running statistics), G's step draws its own"),
    Option("adversarial_d", "choice", ADVERSARIAL_D, "D in G's step", None,
           "trained: G's step also steps D towards calling the fakes real (Keras' adversarial model without D frozen)"),
    Option("gp_weight", "float", (0.0, 1000.0), "Gradient penalty weight", None),
    Option("r1_gamma", "float", (0.0, 1000.0), "R1 penalty", None,
           "gamma of the R1 penalty, gamma/2 E||grad D(x)||^2 at real digits, added to D's loss (0 = off)"),
    Option("clip_grad", "float", (0.0, 1e6), "Gradient clipping", None, "clip gradients by value (0 = off)"),
)
OPTION = {o.name: o for o in OPTIONS}
FORM_OPTIONS = tuple(o for o in OPTIONS if o.form is not None)      # the Train tab's Options, in order
