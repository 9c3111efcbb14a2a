"""A 2-D map of digits: the first two principal directions of the evaluator's features, fitted
once on the real MNIST test digits, so fakes and reals land on the same map (the latent map of
a model, the fakes-moving-toward-the-reals view of a run), and the map drawn as a picture.

PCA keeps the map linear and stable: a digit's place never depends on which other points are
drawn beside it, so the same fake lands on the same spot in every frame of a run.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from gan.engine.pixels import to_pixels
from gan.evaluation.classifier import embed
from gan.evaluation.evaluate import reference
from gan.inference.sampling import sample_latents

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))     # a colour per digit (tab10)
REAL_GREY = (205, 205, 205)
MARGIN = 0.04                           # of the map's side, around the real cloud


@dataclass(frozen=True)
class Projection:
    mean: np.ndarray                    # (128,) the real features' mean
    axes: np.ndarray                    # (128, 2) the first two principal directions
    lo: np.ndarray                      # (2,) the real cloud's extent on them (1st-99th percentile) ...
    hi: np.ndarray                      # (2,) ... mapped to [MARGIN, 1 - MARGIN]
    real_xy: np.ndarray                 # (N, 2) the real test digits on the map, in [0, 1]
    real_labels: np.ndarray             # (N,)

    def __call__(self, feats) -> np.ndarray:
        """Evaluator features (N, 128) -> map coordinates (N, 2), the real cloud in [MARGIN, 1 - MARGIN]."""
        p = (np.asarray(feats, np.float64) - self.mean) @ self.axes
        return MARGIN + (1 - 2 * MARGIN) * (p - self.lo) / (self.hi - self.lo)

    def place(self, images_u8) -> tuple[np.ndarray, np.ndarray]:
        """uint8 digits (N, 28, 28) -> (map coordinates (N, 2), the evaluator's class probabilities (N, 10))."""
        feats, probs = embed(torch.as_tensor(images_u8))
        return self(feats.numpy()), probs.numpy()


@functools.lru_cache(maxsize=1)
def real_projection() -> Projection:
    """The map fitted on the evaluator's features of the MNIST test digits (from the cached reference)."""
    ref = reference()
    feats = ref["feats"].numpy()
    mean = feats.mean(0)
    _, _, vt = np.linalg.svd(feats - mean, full_matrices=False)
    axes = vt[:2].T
    axes = axes * np.sign(axes.sum(0, keepdims=True) + 1e-12)       # a fixed orientation, run to run
    p = (feats - mean) @ axes
    lo, hi = np.percentile(p, 1, axis=0), np.percentile(p, 99, axis=0)
    proj = Projection(mean, axes, lo, hi, np.empty((0, 2)), np.asarray(ref["labels"]))
    return Projection(mean, axes, lo, hi, proj(feats), np.asarray(ref["labels"]))


def draw_map(proj: Projection, xy: np.ndarray, colours, size: int = 360, radius: float = 2.2,
             legend: str | None = "digit") -> np.ndarray:
    """The map as an RGB picture (size x size, plus a legend strip): the real digits as a faint grey
    cloud, the points ``xy`` (in [0, 1]) as dots of ``colours`` ((N, 3) or one colour a point)."""
    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for x, y in np.clip(proj.real_xy, 0, 1) * (size - 1):
        d.point((float(x), float(size - 1 - y)), fill=REAL_GREY)
    for (x, y), c in zip(np.clip(xy, 0, 1) * (size - 1), colours):
        x, y = float(x), float(size - 1 - y)
        d.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(int(v) for v in c))
    if legend == "digit":
        strip = Image.new("RGB", (size, 18), (255, 255, 255))
        ds = ImageDraw.Draw(strip)
        for k, c in enumerate(PALETTE):
            x = 6 + k * (size - 12) / 10
            ds.ellipse((x, 5, x + 8, 13), fill=c)
            ds.text((x + 11, 3), str(k), fill=(60, 60, 60))
        return stack(np.asarray(img), np.asarray(strip))
    return np.asarray(img)


def pixel_to_map(px: float, py: float, size: int) -> tuple[float, float]:
    """A click on a ``draw_map`` picture (pixels from its top left) -> map coordinates."""
    return px / (size - 1), (size - 1 - py) / (size - 1)


def score_colours(scores: np.ndarray) -> np.ndarray:
    """D's "real" probability per point as a colour: red (fake-looking) -> yellow -> green (real-looking)."""
    s = np.clip(np.asarray(scores, np.float64), 0, 1)[:, None]
    red, yellow, green = np.array([214, 39, 40]), np.array([230, 190, 30]), np.array([44, 160, 44])
    return np.where(s < 0.5, red + (yellow - red) * (s / 0.5), yellow + (green - yellow) * ((s - 0.5) / 0.5))


def coverage_bars(shares, width: int, height: int = 46) -> np.ndarray:
    """Ten bars, the share of each digit among the fakes (the dashed line: a tenth each)."""
    img = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(img)
    top, bottom = 4, height - 14
    for k, share in enumerate(shares):
        x0 = 6 + k * (width - 12) / 10
        x1 = x0 + (width - 12) / 10 - 4
        h = min(1.0, float(share) / 0.3) * (bottom - top)              # 30 % fills the bar
        d.rectangle((x0, bottom - h, x1, bottom), fill=PALETTE[k])
        d.text((x0 + 2, bottom + 1), str(k), fill=(60, 60, 60))
    even = bottom - (0.1 / 0.3) * (bottom - top)
    for x in range(4, width - 4, 6):
        d.line((x, even, x + 3, even), fill=(90, 90, 90))
    return np.asarray(img)


def stack(*pictures: np.ndarray) -> np.ndarray:
    """RGB pictures of one width, one above the other."""
    return np.concatenate(pictures, axis=0)


LIVE_SAMPLES = 128
LIVE_SEED = 4243


@torch.no_grad()
def live_view(trainer, n: int = LIVE_SAMPLES) -> dict:
    """Where a run's fakes lie on the real digits' map right now: ``n`` fixed-noise samples of its
    sampling generator, their map places, D's "real" probability for each and the share of each
    digit the evaluator sees among them."""
    G, mcfg = trainer.sampler, trainer.mcfg
    gen = torch.Generator(trainer.device).manual_seed(LIVE_SEED)
    z = sample_latents(n, mcfg.z_dim, mcfg.z_dist, gen, trainer.device)
    y = (torch.arange(n, device=trainer.device) % 10) if trainer.conditional else None
    was = G.training, trainer.D.training
    G.eval(), trainer.D.eval()
    try:
        x = G(z, y).float()
        scores = trainer.loss.to_probability(trainer.D(x, y).float()).reshape(-1).cpu().numpy()
    finally:
        G.train(was[0]), trainer.D.train(was[1])
    images = to_pixels(x, mcfg.output)
    xy, probs = real_projection().place(images)
    shares = np.bincount(probs.argmax(1), minlength=10) / n
    return {"xy": xy, "scores": scores, "shares": shares, "step": trainer.step}


def draw_live(view: dict, size: int = 300) -> np.ndarray:
    """The live view as one picture: the map with the fakes coloured by D's score, and the
    per-digit coverage bars below it."""
    proj = real_projection()
    picture = draw_map(proj, view["xy"], score_colours(view["scores"]), size, radius=2.0, legend=None)
    return stack(picture, coverage_bars(view["shares"], size))


def spread(xy: np.ndarray) -> float:
    """How widely points scatter on the map: their mean distance from their centre."""
    return float(np.linalg.norm(xy - xy.mean(0), axis=1).mean())
