"""Sampling from a trained generator: seeded latents, grids, interpolation, per-class samples.

Latents are drawn on the CPU from ``torch.Generator().manual_seed(seed)`` and then moved, so
the same seed gives the same digits on any machine. One function maps G's output to pixels
(``gan.engine.pixels.to_pixels``) for tanh and sigmoid presets alike.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from gan.engine.checkpoint import read_tensors, strip_prefix
from gan.engine.device import cpu_has_native_bf16
from gan.engine.pixels import to_pixels
from gan.models.fused_upsample import fuse_upsample_convs
from gan.models.registry import ModelConfig, model_config_from_dict


def sample_latents(n: int, z_dim: int, dist: str, generator: torch.Generator | None = None,
                   device="cpu") -> torch.Tensor:
    if dist == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=device) * 2 - 1
    return torch.randn(n, z_dim, generator=generator, device=device)


def seeded_latents(mcfg: ModelConfig, seed: int, n: int) -> torch.Tensor:
    """(n, z_dim) float32 on the CPU, a pure function of (seed, z_dim, z_dist) per row: asking
    for more digits never changes the first ones. (torch's CPU normal_ redraws the last 16
    values of a tensor, so a few spare rows keep the requested ones out of that tail.)"""
    spare = -(-16 // mcfg.z_dim)
    return sample_latents(n + spare, mcfg.z_dim, mcfg.z_dist, torch.Generator().manual_seed(int(seed)))[:n]


def fixed_grid_inputs(mcfg: ModelConfig, seed: int, n: int = 100):
    """Latents and labels for a training-progress grid: digit = column for conditional models."""
    z = seeded_latents(mcfg, seed, n)
    y = torch.arange(n) % 10 if mcfg.num_classes else None
    return z, y


def make_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, pad: int = 2) -> torch.Tensor:
    """uint8 (N, H, W) -> one uint8 (rows*(H+pad)+pad, nrow*(W+pad)+pad) image on a black background."""
    images = torch.as_tensor(images)
    n, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    cells = torch.zeros(rows * nrow, h + pad, w + pad, dtype=torch.uint8)
    cells[:n, pad:, pad:] = images                               # each image with its top/left padding
    grid = cells.reshape(rows, nrow, h + pad, w + pad).permute(0, 2, 1, 3).reshape(rows * (h + pad), nrow * (w + pad))
    return torch.nn.functional.pad(grid, (0, pad, 0, pad))      # bottom and right border


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (for Gaussian latents); falls back to lerp for parallel vectors."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    t = t[:, None]
    lerp = (1 - t) * a + t * b
    return torch.where(so.abs() < 1e-6, lerp, (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b)


@dataclass
class GeneratorModel:
    """A loaded generator ready for sampling (eval mode, CPU or GPU)."""

    G: nn.Module
    mcfg: ModelConfig
    preset: str
    meta: dict
    fast_G: nn.Module | None = None      # an approximate copy for interactive renders (gan.inference.int8_render)

    @property
    def conditional(self) -> bool:
        return self.mcfg.num_classes > 0

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    def latents(self, seed: int, n: int) -> torch.Tensor:
        return seeded_latents(self.mcfg, seed, n)

    def labels(self, n: int, digits=None) -> torch.Tensor | None:
        """The (n,) CPU labels of a batch: ``digits`` as one digit for all or n of them, and 0-9
        repeating when None (grid columns line up with digits); None for unconditional models."""
        if not self.conditional:
            return None
        labels = torch.as_tensor(torch.arange(n) % 10 if digits is None else digits, dtype=torch.long).reshape(-1)
        labels = labels.expand(n) if labels.numel() == 1 else labels
        if labels.numel() != n or labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"need one digit in 0-9 or {n} of them")
        return labels

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels=None, fast: bool = False) -> np.ndarray:
        """Latents (N, z_dim) [+ labels (N,)] -> uint8 array (N, 28, 28). ``fast``: interactive
        rendering, through ``fast_G`` when the model has one (int8) and in bf16 on CPUs that have
        it natively (evaluation keeps fp32)."""
        labels = self.labels(z.shape[0], labels)
        labels = labels.to(self.device) if labels is not None else None
        bf16 = fast and self.device.type == "cpu" and cpu_has_native_bf16()
        G = self.fast_G if fast and self.fast_G is not None else self.G
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            x = G(z.to(self.device, torch.float32), labels)
        return to_pixels(x.float(), self.mcfg.output).numpy()

    def sample(self, seed: int, n: int, digit: int | None = None) -> np.ndarray:
        return self.generate(self.latents(seed, n), digit)

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 10, digit_a: int | None = None,
                    digit_b: int | None = None, z_a: torch.Tensor | None = None) -> np.ndarray:
        """``steps`` frames from seed_a (or the latent ``z_a``) to seed_b (slerp for normal latents,
        lerp for uniform). Conditional models also blend the two digits' label embeddings when they differ."""
        za = self.latents(seed_a, 1) if z_a is None else z_a.reshape(1, -1).float()
        zb = self.latents(seed_b, 1)
        t = torch.linspace(0, 1, steps)
        z = slerp(za.expand(steps, -1), zb.expand(steps, -1), t) if self.mcfg.z_dist == "normal" \
            else (1 - t[:, None]) * za + t[:, None] * zb
        if not self.conditional:
            return self.generate(z)
        da = 0 if digit_a is None else int(digit_a)
        db = da if digit_b is None else int(digit_b)
        if da == db:
            return self.generate(z, da)
        return self._generate_blended(z, da, db, t)

    @torch.no_grad()
    def _generate_blended(self, z, da: int, db: int, t) -> np.ndarray:
        """Generators with ``blend_labels`` blend the two digits' embeddings; others switch at t = 0.5."""
        if not hasattr(self.G, "blend_labels"):
            return self.generate(z, torch.where(t < 0.5, da, db))
        x = self.G.blend_labels(z.to(self.device), da, db, t.to(self.device))
        return to_pixels(x, self.mcfg.output).numpy()


def build_networks(preset: str, model_args: dict, device="cpu") -> tuple[nn.Module, nn.Module, ModelConfig]:
    mcfg = model_config_from_dict(preset, model_args)
    with torch.device(device):
        G, D = mcfg.build()
    return G, D, mcfg


def load_network(path: str | Path, role: str = "G", max_bytes: int | None = None) -> tuple[nn.Module, ModelConfig, dict]:
    """One network ("G": the EMA copy when present, or "D") from a safetensors file of this
    project, with every tensor's name, shape, dtype and value checked. Shapes are checked on
    the meta device first: a file's model_args cannot make us allocate a network larger than
    the tensors it actually carries."""
    name = Path(path).name
    tensors, meta = read_tensors(path, max_bytes=max_bytes)
    preset, model_args = meta.get("preset"), meta.get("model_args")
    if not isinstance(preset, str) or not isinstance(model_args, dict):
        raise ValueError(f"{name}: a safetensors file, but not one of this playground's generators: it has no "
                         "'preset' / 'model_args' metadata to rebuild the network from. Make one with "
                         "`python -m gan train --preset NAME --out DIR` (DIR/generator.safetensors), or download "
                         "a model or a finished run of yours from this page")
    G, D, mcfg = build_networks(preset, model_args, device="meta")
    sd = (strip_prefix("G_ema", tensors) or strip_prefix("G", tensors)) if role == "G" else strip_prefix("D", tensors)
    expected = (G if role == "G" else D).state_dict()
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{name}: tensors do not match preset {preset!r} "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for k, v in sd.items():
        if v.shape != expected[k].shape:
            raise ValueError(f"{name}: {k} has shape {tuple(v.shape)}, {preset!r} needs {tuple(expected[k].shape)}")
        if v.dtype.is_floating_point != expected[k].dtype.is_floating_point:
            raise ValueError(f"{name}: {k} has dtype {v.dtype}, expected {expected[k].dtype}")
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise ValueError(f"{name}: {k} holds NaN or inf values")
    G, D, _ = build_networks(preset, model_args)
    net = G if role == "G" else D
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in sd.items()})
    return net.eval().requires_grad_(False), mcfg, meta


def load_generator(path: str | Path, device="cpu", max_bytes: int | None = None) -> GeneratorModel:
    """Load a generator export (weights/*.safetensors) or a full training checkpoint."""
    G, mcfg, meta = load_network(path, "G", max_bytes)
    # channels_last on a CPU: oneDNN's native layout, 1.7x faster keras-dcgan and 2.6x cs231n renders
    fmt = torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format
    fuse_upsample_convs(G)               # upsample + 5x5 conv on the small map: 1.8x faster keras-dcgan
    return GeneratorModel(G.to(device, memory_format=fmt), mcfg, meta["preset"], meta)


def from_trainer(trainer) -> GeneratorModel:
    """A sampling copy of a Trainer's generator (EMA if any), detached from training."""
    G = copy.deepcopy(trainer.sampler).float().eval().requires_grad_(False)
    G = G.to(memory_format=torch.contiguous_format)
    return GeneratorModel(G, trainer.mcfg, trainer.cfg.preset, {"step": trainer.step})


def to_pil(image_u8):
    return Image.fromarray(np.asarray(image_u8, dtype=np.uint8), mode="L")
