"""Is it memorising? The training digits nearest to a picture in the evaluator's feature space,
their distances, and a verdict against how near a *new* real digit usually lies to the training
set (the typical distance from a test digit to its nearest training digit).

The 60,000 training digits' features are computed once and kept on disk (``disk_cache``), so a
lookup is one matrix product. What it tells: whether a picture is as close to some training
digit as a copy would be. What it does not: a large distance says this picture is not a copy,
never that the model copies nothing; the evaluator's features see shapes, not exact pixels.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan.engine.data import load_mnist
from gan.evaluation.classifier import DEFAULT_WEIGHTS, embed, load_classifier
from gan.evaluation.disk_cache import cached

COPY_RATIO = 0.5                        # nearer than half the typical real distance: looks like a copy
NEW_RATIO = 1.5                         # farther than 1.5x: farther from the training set than real digits are


@dataclass(frozen=True)
class Neighbours:
    indices: list[int]                  # into the training set, nearest first
    distances: list[float]
    images: np.ndarray                  # uint8 (k, 28, 28)
    labels: list[int]
    typical: float                      # median distance from a real test digit to its nearest training digit

    @property
    def ratio(self) -> float:
        return self.distances[0] / self.typical

    @property
    def verdict(self) -> str:
        r = self.ratio
        if r < COPY_RATIO:
            return (f"Nearer to a training digit than new real digits usually are ({r:.2f}x the typical distance): "
                    "this one may be a near-copy.")
        if r <= NEW_RATIO:
            return (f"As near to the training set as a new real digit would be ({r:.2f}x the typical distance): "
                    "no sign of copying.")
        return (f"Farther from every training digit than real digits are ({r:.2f}x the typical distance): "
                "new, or not quite a digit.")


@dataclass(frozen=True)
class TrainingSet:
    feats: torch.Tensor                 # (N, 128) float32
    sq_norms: torch.Tensor              # (N,)
    images: torch.Tensor                # uint8 (N, 28, 28)
    labels: torch.Tensor
    typical: float

    def nearest(self, images_u8, k: int = 3) -> list[Neighbours]:
        feats, _ = embed(torch.as_tensor(images_u8).reshape(-1, 28, 28))
        dist, idx = squared_distances(feats.float(), self.feats, self.sq_norms).topk(k, dim=1, largest=False)
        return [Neighbours(i.tolist(), d.sqrt().tolist(), self.images[i].numpy(), self.labels[i].tolist(), self.typical)
                for d, i in zip(dist, idx)]


def squared_distances(q: torch.Tensor, feats: torch.Tensor, sq_norms: torch.Tensor) -> torch.Tensor:
    """(Q, N) squared Euclidean distances between features ``q`` (Q, D) and ``feats`` (N, D), whose
    squared norms ``sq_norms`` (N,) are given: one matrix product."""
    return (q.pow(2).sum(1, keepdim=True) + sq_norms[None] - 2 * q @ feats.T).clamp_min(0)


def _as_entry(entry) -> dict:
    tensors, _ = entry
    if tensors["feats"].dtype != torch.float16 or tensors["feats"].shape[1] != 128 or tensors["typical"].numel() != 1:
        raise ValueError("not a training-feature cache")
    return tensors


_LOCK = threading.Lock()                # the app's warm-up and a first visitor compute it once between them


def training_set(classifier_path: str = str(DEFAULT_WEIGHTS), data_dir: str | None = None) -> TrainingSet:
    """The training digits with their evaluator features (computed once, ~5 s on 2 CPU cores with
    native bfloat16, ~10 s without; then read from the cache folder) and the typical real-to-training distance."""
    with _LOCK:
        return _training_set(str(classifier_path), None if data_dir is None else str(data_dir))


@functools.lru_cache(maxsize=2)
def _training_set(classifier_path: str, data_dir: str | None) -> TrainingSet:
    train, test = load_mnist("train", data_dir), load_mnist("test", data_dir)

    def compute():
        clf = load_classifier(classifier_path)
        feats = embed(train.images, clf, bf16=True)[0].float()
        probe = embed(test.images[:1000], clf, bf16=True)[0].float()
        typical = squared_distances(probe, feats, feats.pow(2).sum(1)).min(1).values.sqrt().median()
        return {"feats": feats.half(), "typical": typical.reshape(1)}, {}

    key = (Path(classifier_path).read_bytes() + train.images.numpy().tobytes() + test.images[:1000].numpy().tobytes()
           + b"bf16-features")
    tensors = cached("train-features", key, compute, _as_entry)
    feats = tensors["feats"].float()
    return TrainingSet(feats, feats.pow(2).sum(1), train.images, train.labels, float(tensors["typical"][0]))
