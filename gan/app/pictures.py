"""What the Explore tab shows for a model: a grid of digits (seed, count, sliders, digit), an
interpolation strip and GIF between two seeds, and the discriminator probe of a drawing. The
values arrive checked (``gan.app.requests``: ``Render``, ``Interpolation``)."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan.app.requests import Interpolation, Render
from gan.engine.losses import d_probability
from gan.engine.pixels import from_pixels
from gan.evaluation.classifier import embed
from gan.inference.explore import Explorer
from gan.inference.sampling import GeneratorModel, make_grid


def render(explorer: Explorer, r: Render, batcher=None, visitor: str | None = None) -> np.ndarray | None:
    """The grid (ten digits a row) for a checked render; through ``batcher`` (merged with other
    visitors' renders of the same model) when given: None when this visitor's newer request
    superseded it."""
    model = explorer.model
    z = explorer.latents(r.seed, r.n, r.sliders, r.raw)
    labels = model.labels(r.n, r.digit)          # one digit for all, or 0-9 repeating
    images = batcher.generate(model, z, labels, visitor) if batcher is not None else model.generate(z, labels, fast=True)
    return None if images is None else make_grid(images, nrow=min(r.n, 10)).numpy()


def interpolation(model: GeneratorModel, i: Interpolation):
    """(strip image, list of frames) between two seeds (and two digits for conditional models)."""
    imgs = model.interpolate(i.seed_a, i.seed_b, i.frames, i.digit_a, i.digit_b if model.conditional else None)
    return make_grid(imgs, nrow=i.frames).numpy(), imgs


def write_gif(frames: np.ndarray, path: Path, scale: int = 4, ms: int = 80) -> Path:
    pics = [Image.fromarray(f).resize((28 * scale, 28 * scale), Image.NEAREST) for f in frames]
    pics = pics + pics[-2:0:-1]                               # ping-pong loop
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=ms, loop=0)
    return path


def probe(digit_u8: np.ndarray, discriminator=None, output: str = "tanh", loss: str = "non-saturating") -> dict:
    """The evaluator's class probabilities and, when a discriminator is given, its "real" score."""
    _, probs = embed(torch.from_numpy(digit_u8[None]))
    out = {"class": int(probs[0].argmax()), "probs": probs[0].tolist()}
    if discriminator is not None:
        D = copy.deepcopy(discriminator).float().eval().cpu()
        x = from_pixels(torch.from_numpy(digit_u8[None]), output)
        with torch.no_grad():
            if getattr(D, "embed", None) is not None:        # projection D: score under the evaluator's class
                logit = D(x, torch.tensor([out["class"]]))
            else:
                logit = D(x, None)
        out["real_score"] = float(d_probability(logit, loss)[0])
    return out


def enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling of a small uint8 picture, so every viewer shows it crisp and legible."""
    return np.kron(np.asarray(image), np.ones((scale, scale), dtype=np.uint8))
