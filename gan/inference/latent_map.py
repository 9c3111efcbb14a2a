"""A map of a generator's latent space: ~2,000 of its digits placed by the evaluator's features
(``gan.evaluation.projection``: the same map as the real test digits, drawn faintly behind),
each coloured by the digit the evaluator sees. A click on the map picks the nearest sample,
whose latent (and class) the Explore tab then walks on from.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan.evaluation.projection import PALETTE, draw_map, pixel_to_map, real_projection
from gan.inference.sampling import GeneratorModel

MAP_SEED = 20261207
MAP_SIZE = 360                          # pixels of the square map (a legend strip below it)


@dataclass(frozen=True)
class LatentMap:
    z: torch.Tensor                     # (N, z_dim) the samples' latents
    labels: torch.Tensor | None         # (N,) their classes (conditional models)
    xy: np.ndarray                      # (N, 2) their places on the map, in [0, 1]
    classes: np.ndarray                 # (N,) the evaluator's digit for each
    picture: np.ndarray                 # uint8 RGB (MAP_SIZE + legend, MAP_SIZE, 3)

    def pick(self, px: float, py: float) -> int | None:
        """The sample nearest a click at picture pixel (px, py), or None off the map (the legend)."""
        if not (0 <= px < MAP_SIZE and 0 <= py < MAP_SIZE):
            return None
        x, y = pixel_to_map(px, py, MAP_SIZE)
        return int(np.argmin((self.xy[:, 0] - x) ** 2 + (self.xy[:, 1] - y) ** 2))


def latent_map(model: GeneratorModel, n: int = 2000, seed: int = MAP_SEED) -> LatentMap:
    """The map of ``n`` seeded samples of ``model`` (seconds on a CPU; callers keep it per model)."""
    proj = real_projection()
    z = model.latents(seed, n)
    labels = model.labels(n, None)
    images = model.generate(z, labels)
    xy, probs = proj.place(images)
    classes = probs.argmax(1)
    picture = draw_map(proj, xy, [PALETTE[c] for c in classes], MAP_SIZE)
    return LatentMap(z, labels, xy, classes, picture)
