"""What the Explore tab shows for a model: a grid of digits (seed, count, sliders, digit), an
interpolation strip and GIF between two seeds, and the discriminator probe of a drawing. The
values arrive checked (``gan.app.requests``: ``Render``, ``Interpolation``)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Pick:
    """A visitor's picked digit: a latent (and class) found for a drawing or clicked on the map, and
    the slider positions that show it (its coordinates along the directions; the rest is the base)."""

    z: torch.Tensor                              # (z_dim,)
    label: int | None
    source: str                                  # "your drawing" | "the map"
    sliders: tuple[float, ...]                   # (N_SLIDERS,)
    raw: bool                                    # the sliders' directions: raw latent dimensions or principal

    @classmethod
    def of(cls, explorer: Explorer, z: torch.Tensor, label: int | None, source: str, raw: bool) -> "Pick":
        return cls(z, label, source, explorer.coordinates(z, raw), raw)

    def base(self, explorer: Explorer) -> torch.Tensor:
        """The latent the sliders move from: at the pick's positions they land on the pick itself."""
        return explorer.anchor(self.z, self.sliders, self.raw)


def render(explorer: Explorer, r: Render, batcher=None, visitor: str | None = None,
           pick: Pick | None = None) -> np.ndarray | None:
    """The grid (ten digits a row) for a checked render, from the visitor's ``pick`` when the render
    asks for it (the picked digit first, then variations of it); through ``batcher`` (merged with
    other visitors' renders of the same model) when given: None when this visitor's newer request
    superseded it."""
    z, labels = inputs(explorer, r, pick)
    model = explorer.model
    images = batcher.generate(model, z, labels, visitor) if batcher is not None else model.generate(z, labels, fast=True)
    return None if images is None else make_grid(images, nrow=min(r.n, 10)).numpy()


def inputs(explorer: Explorer, r: Render, pick: Pick | None = None):
    """(latents, labels) of a render: seeded, or from the visitor's pick when the render asks for it."""
    pick = pick if r.picked else None
    z = explorer.latents(r.seed, r.n, r.sliders, r.raw, base=None if pick is None else pick.base(explorer))
    digit = pick.label if pick is not None and r.digit is None and pick.label is not None else r.digit
    return z, explorer.model.labels(r.n, digit)           # labels: one digit for all, or 0-9 repeating


def digits(explorer: Explorer, r: Render, pick: Pick | None = None) -> np.ndarray:
    """The render's digits, uint8 (n, 28, 28), as its grid shows them."""
    return explorer.model.generate(*inputs(explorer, r, pick), fast=True)


def interpolation(model: GeneratorModel, i: Interpolation, pick: Pick | None = None):
    """(strip image, list of frames) between two seeds (and two digits for conditional models); from
    the visitor's ``pick`` (its latent and class) when the request asks for it."""
    pick = pick if i.picked else None
    digit_a = pick.label if pick is not None and pick.label is not None else i.digit_a
    imgs = model.interpolate(i.seed_a, i.seed_b, i.frames, digit_a, i.digit_b if model.conditional else None,
                             z_a=None if pick is None else pick.z)
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


def cell_at(x: float, y: float, n: int, pad: int = 2) -> int | None:
    """The digit under a click at pixel (x, y) of a ``render`` grid of ``n`` digits, or None (a gap, outside)."""
    nrow, size = min(n, 10), 28 + pad
    col, row = int(x // size), int(y // size)
    inside = x % size >= pad and y % size >= pad
    i = row * nrow + col
    return i if inside and 0 <= col < nrow and row >= 0 and i < n else None


def neighbours_strip(digit: np.ndarray, nearest: np.ndarray, scale: int = 3) -> np.ndarray:
    """The digit, a gap, then its nearest training digits, enlarged."""
    row = np.concatenate([digit[None], np.zeros((1, 28, 28), np.uint8), nearest])
    return enlarge(make_grid(row, nrow=len(row)).numpy(), scale)
