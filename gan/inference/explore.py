"""Latent exploration for the playground: principal directions (GANSpace-style), slider
edits of a seeded batch, per-digit styles for conditional models.

Directions: sample z, render G(z), run PCA on the images, and regress z on each principal
component's scores; the unit vectors found move z along what changes the pictures most.
Computed once per model (seeded; 0.2-2.5 s on a CPU) and kept on the Explorer; a shipped
model's are also kept on disk (``cache=True``, ``gan.evaluation.disk_cache``), so a restarted app reads them.
"""
from __future__ import annotations

import threading

import numpy as np
import torch

from gan.engine.checkpoint import read_tensors, save_tensors
from gan.evaluation.disk_cache import cached, key_name, tensor_bytes
from gan.inference.sampling import GeneratorModel

N_SLIDERS = 8
SLIDER_RANGE = (-3.0, 3.0)          # how far a slider moves z along its direction, in the prior's stds
SLIDER_STEP = 0.05
VARIATION = 0.35                    # how far a picked digit's variations stray from it, in the prior's stds


class Explorer:
    def __init__(self, model: GeneratorModel, n_directions: int = N_SLIDERS, n_fit: int = 1024, seed: int = 0,
                 cache: bool = False, shipped: "str | None" = None):
        self.model = model
        self.cache = cache
        self.shipped = shipped            # weights/directions.safetensors: fits that come with the files
        self.n_directions = n_directions
        self._pca = None
        self._fit = (n_fit, seed)
        self._lock = threading.Lock()     # a crowd's first slider moves fit the directions once

    @property
    def pca_directions(self) -> torch.Tensor:
        """(n_directions, z_dim) unit vectors, sorted by explained image variance."""
        with self._lock:
            if self._pca is None:
                self._pca = self._cached_fit() if self.cache else self._fit_directions()
            return self._pca

    def _cached_fit(self) -> torch.Tensor:

        def check(entry) -> torch.Tensor:
            dirs = entry[0]["directions"]
            if tuple(dirs.shape) != (self.n_directions, self.model.mcfg.z_dim) or not torch.isfinite(dirs).all():
                raise ValueError("not this model's directions")
            return dirs

        key = self.cache_key()                 # hashes the weights: once

        def compute():
            found = shipped_directions(self.shipped, key) if self.shipped else None
            return {"directions": found if found is not None else self._fit_directions()}, {}

        return cached("directions", key, compute, check)

    def cache_key(self) -> bytes:
        """What the fit depends on: the weights, the preset, the fit's size and seed, the shape."""
        shape = (self.n_directions, self.model.mcfg.z_dim)
        return tensor_bytes(self.model.G.state_dict()) + repr((self.model.preset, self._fit, shape)).encode()

    def _fit_directions(self) -> torch.Tensor:
        n, seed = self._fit
        z = self.model.latents(seed + 999_983, n)
        labels = torch.arange(n) % 10 if self.model.conditional else None
        x = torch.from_numpy(self.model.generate(z, labels)).reshape(n, -1).double() / 255.0
        x = x - x.mean(0)
        _, _, v = torch.linalg.svd(x, full_matrices=False)        # image-space components
        scores = x @ v[: self.n_directions].T                       # (n, k)
        zc = (z.double() - z.double().mean(0))
        dirs = torch.linalg.lstsq(scores, zc).solution              # (k, z_dim): z ~ scores @ dirs
        return (dirs / dirs.norm(dim=1, keepdim=True).clamp(min=1e-12)).float()

    def directions(self, raw: bool = False) -> torch.Tensor:
        if raw:
            return torch.eye(self.model.mcfg.z_dim)[: self.n_directions]
        return self.pca_directions

    def coordinates(self, z: torch.Tensor, raw: bool = False) -> tuple[float, ...]:
        """The ``N_SLIDERS`` slider positions nearest to latent ``z`` (z_dim,): its least-squares
        coordinates along the directions, rounded to the sliders' step and clipped to their range."""
        d = self.directions(raw).double()                                    # (k, z_dim)
        s = torch.linalg.lstsq(d.T, z.double().reshape(-1, 1)).solution.reshape(-1)
        s = ((s / SLIDER_STEP).round() * SLIDER_STEP).clamp(*SLIDER_RANGE)
        return tuple(round(float(v), 2) for v in s) + (0.0,) * (N_SLIDERS - len(s))

    def anchor(self, z: torch.Tensor, sliders, raw: bool = False) -> torch.Tensor:
        """The base latent that the sliders at ``sliders`` move to ``z``: z minus their offset."""
        s = torch.as_tensor(np.asarray(sliders, dtype=np.float32)[: self.n_directions])
        return z - s @ self.directions(raw)[: len(s)]

    def latents(self, seed: int, n: int, sliders=None, raw: bool = False, base: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` seeded latents moved by the sliders; from ``base`` (a picked latent, (z_dim,)): that
        latent first, then seeded variations of it (each ``VARIATION`` of a seeded draw away)."""
        z = self.model.latents(seed, n)
        if base is not None:
            z = base.reshape(1, -1).expand(n, -1) + VARIATION * torch.cat([torch.zeros(1, z.shape[1]), z[1:]])
        if sliders is not None and any(float(s) != 0.0 for s in sliders):
            s = torch.as_tensor(np.asarray(sliders, dtype=np.float32)[: self.n_directions])
            z = z + s @ self.directions(raw)[: len(s)]
        return z


def shipped_directions(path, key: bytes) -> torch.Tensor | None:
    """The fit stored for ``key`` in a directions file, if it holds one (any problem: None)."""
    try:
        tensors, meta = read_tensors(path)
        name = meta["keys"].get(key_name(key))
        return tensors[name] if name is not None else None
    except Exception:  # noqa: BLE001 - a missing or stale file only means fitting here
        return None


def write_shipped_directions(explorers: dict[str, "Explorer"], path) -> None:
    """Store each explorer's fit under its model's name, keyed by what it depends on."""
    save_tensors(path, {name: e.pca_directions for name, e in explorers.items()},
                 {"keys": {key_name(e.cache_key()): name for name, e in explorers.items()}})
