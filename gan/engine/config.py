"""TrainConfig: every option a run can set, with the preset's recipe as defaults.

``TrainConfig.for_preset("dcgan", lr_g=1e-4)`` starts from the registered recipe and
applies overrides; ``validate()`` turns every impossible value into one clear ValueError (the
bounds of the options a person sets come from their table, ``gan/engine/options.py``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gan.engine.options import OPTIONS, check_number
from gan.models.registry import ModelConfig, get_preset, make_model_config


@dataclass
class TrainConfig:
    preset: str = "dcgan"              # registered model family
    model: dict = field(default_factory=dict)  # overrides of the preset's ModelConfig (z_dim, z_dist, ...)
    loss: str = "non-saturating"       # minimax | non-saturating | lsgan | hinge | wgan-gp
    label_smoothing: float = 0.0       # one-sided: real target = 1 - label_smoothing
    instance_noise: float = 0.0        # std of Gaussian noise on every image D sees (Sonderby et al. 2016)
    d_steps: int = 1                   # discriminator steps per generator step (n_critic)
    d_pretrain_steps: int = 0          # discriminator-only steps before alternating
    g_steps: int = 1                   # generator steps per discriminator step (DCGAN-tensorflow runs two)
    step_order: str = "d-first"        # d-first: D's step, then G's | g-first: G's step, then D's on the same fakes (PyTorch-GAN)
    d_fakes: str = "train"             # what D's fakes are: "train" (G in training mode; G's step reuses them) or
                                       # "eval" (Keras' generator.predict: dropout off, BatchNorm's running statistics;
                                       # G's step draws its own)
    adversarial_d: str = "frozen"      # "trained": G's step also steps D, towards calling the fakes real (a Keras
                                       # adversarial model built without freezing D)
    gp_weight: float = 10.0            # gradient penalty weight (wgan-gp loss)
    r1_gamma: float = 0.0              # R1: gamma/2 E||grad D(x)||^2 at real digits added to D's loss (Mescheder et al.
                                       # 2018; any loss); 0 = off
    optimizer: str = "adam"            # adam | rmsprop
    lr_g: float = 2e-4                 # generator learning rate
    lr_d: float = 2e-4                 # discriminator learning rate
    lr_half_life: int = 0              # generator steps after which both learning rates halve; 0 = constant
    betas: tuple = (0.5, 0.999)        # Adam betas (RMSprop uses alpha=0.9, Keras' rho)
    clip_grad: float = 0.0             # clip gradients by value (Keras clipvalue); 0 = off
    batch_size: int = 128
    ema: float = 0.0                   # EMA decay of G's weights; 0 = off
    digits: tuple | None = None        # train on these digits only; None = all ten
    seed: int = 0
    steps: int | None = None           # length: generator steps ...
    epochs: float | None = None        # ... or passes over the data ...
    seconds: float | None = None       # ... or wall-clock seconds; the first reached ends the run
    device: str = "auto"               # auto | cpu | cuda | cuda:N
    amp: bool | None = None            # bf16 autocast; None = on for cuda and CPUs with native bf16
    compile: bool | None = None        # torch.compile G and D; None = on for cuda when it applies
    cuda_graph: bool | None = None     # the whole step in one CUDA graph (gan/engine/fused_step.py); None = on for cuda;
                                       # True on a CPU runs the same step body uncaptured
    channels_last: bool | None = None  # NHWC activations; None = on for CPUs (oneDNN's native layout:
                                       # 3x faster for cs231n, neutral elsewhere), off for cuda (inductor
                                       # mis-strides ConvTranspose2d on 1x1 inputs with it, torch 2.11)
    sync_bn: bool = True               # several CUDA processes (torchrun): BatchNorm statistics over all ranks
    log_every: int = 50                # steps between progress reports
    sample_every: int = 500            # steps between fixed-noise sample grids (also at step 0 and 1, 2, 5, 10, 20, ...)
    sample_seconds: float = 0.0        # also a grid once this many seconds passed since the last (live views); 0 = off
    checkpoint_every: int = 0          # steps between checkpoints (needs out_dir); 0 = only at the end
    out_dir: str | None = None         # where checkpoints and samples go

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "TrainConfig":
        recipe = dict(get_preset(preset).recipe)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown training option(s): {sorted(unknown)}")
        recipe.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(overrides.get("model"), dict):          # the recipe's architecture, with these fields changed
            recipe["model"] = dict(get_preset(preset).recipe.get("model", {})) | overrides["model"]
        cfg = cls(preset=preset, **recipe)
        cfg.validate()
        return cfg

    def model_config(self) -> ModelConfig:
        return make_model_config(get_preset(self.preset).config_cls, dict(self.model))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: (tuple(v) if isinstance(v, list) and k in ("betas", "digits") else v) for k, v in d.items() if k in known}
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        def num(name, lo, hi, integer=False):
            check_number(name, getattr(self, name), lo, hi, integer)

        if not isinstance(self.preset, str):
            raise ValueError(f"preset must be a name, got {self.preset!r}")
        get_preset(self.preset)
        for name, kinds in (("model", dict), ("betas", (list, tuple)), ("digits", (list, tuple, type(None))),
                            ("device", str), ("out_dir", (str, type(None)))):
            if not isinstance(getattr(self, name), kinds):
                raise ValueError(f"{name} has the wrong type: {getattr(self, name)!r}")
        if not isinstance(self.sync_bn, bool):
            raise ValueError(f"sync_bn must be true or false, got {self.sync_bn!r}")
        for name in ("amp", "compile", "channels_last", "cuda_graph"):
            if getattr(self, name) not in (None, True, False):
                raise ValueError(f"{name} must be true, false or unset, got {getattr(self, name)!r}")
        for option in OPTIONS:
            option.check(getattr(self, option.name))
        self.digits = tuple(sorted(self.digits)) if self.digits is not None else None
        num("seed", 0, 2**63 - 1, integer=True)
        num("log_every", 1, 10**9, integer=True)
        num("sample_every", 1, 10**9, integer=True)
        num("checkpoint_every", 0, 10**9, integer=True)
        num("sample_seconds", 0.0, 10**6)
        if len(self.betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        for name, hi in (("steps", 10**9), ("epochs", 10**5), ("seconds", 10**7)):
            v = getattr(self, name)
            if v is not None:
                num(name, 1 if name == "steps" else 1e-3, hi, integer=(name == "steps"))
        if self.steps is None and self.epochs is None and self.seconds is None:
            raise ValueError("set a length: steps, epochs or seconds")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        self.model_config()  # validates architecture overrides
