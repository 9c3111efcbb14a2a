"""What the Explore tab shows for a model: a grid of digits (seed, count, sliders, digit), an
interpolation strip and GIF between two seeds, and the discriminator probe of a drawing.
Every value a visitor sends is checked here (ValueError naming the field)."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from gan.app.inputs import check_float, check_int
from gan.app.limits import Limits
from gan.inference.explore import Explorer
from gan.inference.sampling import GeneratorModel, make_grid


def render(explorer: Explorer, seed, n, sliders, digit=None, raw: bool = False, limits: Limits | None = None,
           batcher=None, visitor: str | None = None) -> np.ndarray | None:
    """The grid (ten digits a row) for these values; through ``batcher`` (merged with other
    visitors' renders of the same model) when given: None when this visitor's newer request
    superseded it."""
    limits = limits or Limits.from_env()
    if not isinstance(raw, bool):
        raise ValueError(f"raw must be true or false, got {raw!r}")
    seed = check_int("seed", seed, 0, 2**31 - 1)
    n = check_int("n (number of digits)", n, 1, limits.max_samples)
    sliders = [check_float(f"s{i + 1} (slider {i + 1})", s, -5, 5) for i, s in enumerate(sliders or [])]
    if digit in (None, "", "all"):
        digit = None
    else:
        digit = check_int("digit", digit, 0, 9)
    model = explorer.model
    z = explorer.latents(seed, n, sliders, raw)
    labels = model.labels(n, digit)          # one digit for all, or 0-9 repeating
    images = batcher.generate(model, z, labels, visitor) if batcher is not None else model.generate(z, labels, fast=True)
    return None if images is None else make_grid(images, nrow=min(n, 10)).numpy()


def interpolation(model: GeneratorModel, seed_a, seed_b, frames, digit_a=None, digit_b=None):
    """(strip image, list of frames) between two seeds (and two digits for conditional models)."""
    seed_a, seed_b = check_int("seed_a", seed_a, 0, 2**31 - 1), check_int("seed_b", seed_b, 0, 2**31 - 1)
    frames = check_int("frames", frames, 2, 60)
    da = None if digit_a in (None, "", "all") else check_int("digit_a", digit_a, 0, 9)
    db = None if digit_b in (None, "", "all") else check_int("digit_b", digit_b, 0, 9)
    imgs = model.interpolate(seed_a, seed_b, frames, da, db if model.conditional else None)
    return make_grid(imgs, nrow=frames).numpy(), imgs


def write_gif(frames: np.ndarray, path: Path, scale: int = 4, ms: int = 80) -> Path:
    from PIL import Image
    pics = [Image.fromarray(f).resize((28 * scale, 28 * scale), Image.NEAREST) for f in frames]
    pics = pics + pics[-2:0:-1]                               # ping-pong loop
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=ms, loop=0)
    return path


def probe(digit_u8: np.ndarray, discriminator=None, output: str = "tanh", loss: str = "non-saturating") -> dict:
    """The evaluator's class probabilities and, when a discriminator is given, its "real" score."""
    from gan.engine.losses import d_probability
    from gan.engine.pixels import from_pixels
    from gan.evaluation.classifier import embed
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
