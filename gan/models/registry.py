"""Preset registry: each GAN variant registers its model config and training recipe by name.

A variant lives in one file under ``gan/models/presets/``: a ``ModelConfig`` subclass (the
architecture, saved inside every checkpoint and used to rebuild the networks), the two
networks, and a ``register(Preset(...))`` call with the recipe the original used, the app's
lighter CPU recipe and a tiny model for tests. Adding a preset = that file + one import line
in ``gan/models/presets/__init__.py``; the app, the CLI, the tests and the training plan read the registry.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn


@dataclass
class ModelConfig:
    """Architecture fields shared by every variant. Subclasses add their own."""

    z_dim: int = 100             # latent size
    z_dist: str = "normal"       # "normal" N(0,1) or "uniform" U(-1,1)
    num_classes: int = 0         # 0: unconditional; 10: G and D take a digit label
    output: str = "tanh"         # G's output range: "tanh" [-1,1] or "sigmoid" [0,1]

    def build(self) -> tuple[nn.Module, nn.Module]:
        """Return (generator, discriminator) for this config."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Preset:
    name: str                          # registry key, e.g. "dcgan"
    description: str                   # one line for `python -m gan list` and the app
    config_cls: type[ModelConfig]      # architecture dataclass
    recipe: dict[str, Any] = field(default_factory=dict)  # TrainConfig defaults
    reference: str = ""                # where the recipe comes from
    cpu_recipe: dict[str, Any] = field(default_factory=dict)  # the app's overrides on a CPU ("model": widths...)
    tiny_model: dict[str, Any] = field(default_factory=dict)  # ModelConfig overrides that train in ms (tests, smoke runs)
    goal: dict[str, float] = field(default_factory=dict)  # what its shipped weights must reach (see goal_shortfalls)
    gpu_recipe: dict[str, Any] = field(default_factory=dict)  # the GPU suite's overrides for the shipped weights
    weights_recipe: dict[str, Any] = field(default_factory=dict)  # the CPU campaign's overrides (shipped width)

    def model_config(self, **overrides: Any) -> ModelConfig:
        return make_model_config(self.config_cls, overrides)


GOAL_CHECKS = {    # goal key -> (metrics.json key, reached(value, goal), how a shortfall reads)
    "fid_ratio": ("fid_ratio", lambda v, g: v <= g, lambda v, g: f"FID {v:.0f}x floor (goal <= {g:g}x)"),
    "modes": ("modes", lambda v, g: v >= g, lambda v, g: f"{v} of 10 digits"),
    "classifier_score": ("classifier_score", lambda v, g: v >= g, lambda v, g: f"score {v:.2f} (goal >= {g:g})"),
    "cgan_accuracy": ("cgan_accuracy", lambda v, g: v >= g, lambda v, g: f"right digit {v:.1%} (goal >= {g:.0%})"),
    "digit_share": ("digit_share", lambda v, g: v >= g, lambda v, g: f"chosen digit {v:.1%} (goal >= {g:.0%})"),
}


def goal_shortfalls(goal: dict[str, float], metrics: dict) -> list[str]:
    """What a model's metrics (weights/metrics.json) miss of its preset's goal, in words; [] = at goal."""
    out = []
    for key, target in goal.items():
        field_name, reached, words = GOAL_CHECKS[key]
        value = metrics.get(field_name)
        if value is None:
            out.append(f"{key} not measured")
        elif not reached(value, target):
            out.append(words(value, target))
    return out


_PRESETS: dict[str, Preset] = {}


def add_named(table: dict, item, kind: str):
    """Put ``item`` into a by-name table (presets, losses), refusing a second one of the same name."""
    if item.name in table:
        raise ValueError(f"{kind} {item.name!r} is registered twice")
    table[item.name] = item
    return item


def register(preset: Preset) -> Preset:
    return add_named(_PRESETS, preset, "preset")


def get_preset(name: str) -> Preset:
    _load_builtin()
    if not isinstance(name, str):
        raise ValueError(f"a preset is named by a string, got {name!r}")
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}") from None


def preset_names() -> list[str]:
    _load_builtin()
    return list(_PRESETS)


def make_model_config(cls: type[ModelConfig], values: dict[str, Any]) -> ModelConfig:
    """Build ``cls(**values)`` with a clear error for unknown fields or bad values."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {sorted(unknown)}; known: {sorted(known)}")
    cfg = cls(**values)
    validate_model_config(cfg)
    return cfg


def validate_model_config(cfg: ModelConfig) -> None:
    if not isinstance(cfg.z_dim, int) or not 1 <= cfg.z_dim <= 1024:
        raise ValueError(f"z_dim must be an integer in [1, 1024], got {cfg.z_dim!r}")
    if cfg.z_dist not in ("normal", "uniform"):
        raise ValueError(f"z_dist must be 'normal' or 'uniform', got {cfg.z_dist!r}")
    if cfg.num_classes not in (0, 10):
        raise ValueError(f"num_classes must be 0 or 10, got {cfg.num_classes!r}")
    if cfg.output not in ("tanh", "sigmoid"):
        raise ValueError(f"output must be 'tanh' or 'sigmoid', got {cfg.output!r}")


def model_config_from_dict(preset: str, values: dict[str, Any]) -> ModelConfig:
    """Rebuild a saved config (the checkpoint's ``model_args``)."""
    return get_preset(preset).model_config(**values)


def _load_builtin() -> None:
    import gan.models.presets  # noqa: F401  (registers the built-in variants on import)

