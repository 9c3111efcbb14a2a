"""Find my digit: the latent (and, for a conditional model, the class) whose picture best matches
a given digit. GAN inversion by optimisation, as StyleGAN's projector does it, on MNIST:

- several random starts at once (one batch), each a z drawn from the prior; for a conditional
  model the starts are shared between the evaluator's two likeliest classes for the drawing;
- Adam on z; the loss is the pixel error plus the evaluator's feature error (shape, not just
  ink) plus a penalty that keeps z on the prior's typical shell (|z|^2 / dim near 1; a uniform
  prior's z is clamped to its box instead);
- the best start so far is yielded every few steps, so a page can show the search moving.

The result's distance is the root-mean-square pixel difference in grey levels (0-255).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from gan.engine.pixels import to_pixels, to_unit
from gan.evaluation.classifier import load_classifier
from gan.inference.sampling import GeneratorModel, sample_latents

FEATURE_WEIGHT = 0.05
PRIOR_WEIGHT = 0.02


@dataclass(frozen=True)
class Match:
    z: torch.Tensor                     # (z_dim,) the latent found
    label: int | None                   # its class, for a conditional model
    image: np.ndarray                   # uint8 (28, 28) the generator's picture for it
    distance: float                     # RMS pixel difference to the target, grey levels
    step: int                           # optimisation steps taken
    done: bool = False


def invert(model: GeneratorModel, target_u8: np.ndarray, starts: int = 8, steps: int = 120, lr: float = 0.08,
           seed: int = 0, every: int = 10) -> Iterator[Match]:
    """Yield the best match so far every ``every`` steps, and the final one (``done``)."""
    G, mcfg = model.G, model.mcfg
    clf = load_classifier()
    target = torch.as_tensor(np.asarray(target_u8), dtype=torch.float32).reshape(1, 1, 28, 28) / 255.0
    with torch.no_grad():
        t_feats = clf.features(target)
        scale = t_feats.pow(2).mean().clamp_min(1e-6)
        top = clf.head(t_feats).topk(2, dim=1).indices[0].tolist()
    gen = torch.Generator().manual_seed(seed)
    z0 = sample_latents(starts, mcfg.z_dim, mcfg.z_dist, gen)
    labels = torch.tensor([top[i % 2] for i in range(starts)]) if model.conditional else None
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    best = (float("inf"), 0)
    for step in range(1, steps + 1):
        x = to_unit(G(z, labels), mcfg.output)                             # (S, 1, 28, 28) in [0, 1]
        pixel = (x - target).pow(2).flatten(1).mean(1)                   # (S,)
        feats = (clf.features(x) - t_feats).pow(2).mean(1) / scale
        prior = (z.pow(2).mean(1) - 1).pow(2) if mcfg.z_dist != "uniform" else torch.zeros(starts)
        loss = pixel + FEATURE_WEIGHT * feats + PRIOR_WEIGHT * prior
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        with torch.no_grad():
            i = int(pixel.argmin())
            if float(pixel[i]) < best[0]:
                best = (float(pixel[i]), i, z[i].detach().clone())
        opt.step()
        if mcfg.z_dist == "uniform":
            with torch.no_grad():
                z.clamp_(-1, 1)
        if step % every == 0 and step < steps:
            yield _match(model, best, labels, step)
    yield _match(model, best, labels, steps, done=True)


@torch.no_grad()
def _match(model: GeneratorModel, best, labels, step: int, done: bool = False) -> Match:
    _, i, z = best
    label = int(labels[i]) if labels is not None else None
    image = to_pixels(model.G(z[None], None if label is None else torch.tensor([label])), model.mcfg.output)
    return Match(z, label, image[0].numpy().reshape(28, 28), float(np.sqrt(best[0])) * 255.0, step, done)


def find(model: GeneratorModel, target_u8: np.ndarray, **kw) -> Match:
    """The final match only."""
    *_, last = invert(model, target_u8, **kw)
    return last
