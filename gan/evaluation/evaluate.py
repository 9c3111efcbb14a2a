"""Evaluate a generator against the MNIST test set with the project's classifier.

``evaluate(model, n=10000)`` -> dict with fid, fid_ratio (to the real-data floor),
classifier_score, class_hist, modes, kl_uniform, precision, recall and, for conditional
models, cgan_accuracy (per requested digit); for single-digit models digit_share.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import torch

from gan.engine.data import load_mnist
from gan.evaluation import metrics
from gan.evaluation.classifier import DEFAULT_WEIGHTS, embed, load_classifier
from gan.evaluation.disk_cache import cached
from gan.inference.sampling import GeneratorModel, from_trainer


def reference(n: int = 10000, classifier_path: str = str(DEFAULT_WEIGHTS), data_dir: str | None = None) -> dict:
    """Features of the MNIST test set (the reference) and the real-data floor values: computed
    once (~4 s on a 2-core CPU), then read from the cache folder (``gan.evaluation.disk_cache``) by every
    later process, and held per process whichever way the arguments are spelled."""
    return _reference(int(n), str(classifier_path), None if data_dir is None else str(data_dir))


@functools.lru_cache(maxsize=4)
def _reference(n: int, classifier_path: str, data_dir: str | None) -> dict:
    test = load_mnist("test", data_dir)
    train = load_mnist("train", data_dir)
    n_test = min(n, len(test))
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(train), generator=g)[:n_test]
    test_images, train_images = test.images[:n_test].cpu(), train.images[idx].cpu()

    def compute():
        clf = load_classifier(classifier_path)
        f_test, p_test = embed(test_images, clf)
        f_train, _ = embed(train_images, clf)
        return ({"feats": f_test, "probs": p_test, "labels": test.labels[:n_test].cpu(), "train_feats": f_train},
                {"floor_fid": metrics.fid(f_train, f_test), "real_score": metrics.classifier_score(p_test)})

    key = Path(classifier_path).read_bytes() + test_images.numpy().tobytes() + train_images.numpy().tobytes()
    return cached("reference", key, compute, _as_reference)      # keyed by what the features depend on


def _as_reference(entry) -> dict:
    tensors, meta = entry
    ref = {k: tensors[k] for k in ("feats", "probs", "labels", "train_feats")}
    return ref | {"floor_fid": float(meta["floor_fid"]), "real_score": float(meta["real_score"])}


def reference_radii(ref: dict, k: int = 3) -> torch.Tensor:
    """The reference's k-NN radii (precision's manifold: ~1 s for 10,000 on a CPU), kept in the
    reference held by this process, so they go wherever it goes."""
    key = f"radii_k{k}"
    if key not in ref:
        ref[key] = metrics.kth_nn_radius(ref["feats"], k)
    return ref[key]


def score_images(images_u8, n_ref: int = 10000, labels=None, pr: bool = True) -> dict:
    """Metrics of uint8 images (N, 28, 28) against the test set."""
    ref = reference(n_ref)
    feats, probs = embed(images_u8, load_classifier())
    hist = metrics.class_histogram(probs)
    out = {
        "n": len(feats),
        "fid": metrics.fid(feats, ref["feats"]),
        "floor_fid": ref["floor_fid"],
        "classifier_score": metrics.classifier_score(probs),
        "real_classifier_score": ref["real_score"],
        "class_hist": [round(h, 4) for h in hist],
        "modes": metrics.modes_covered(hist),
        "kl_uniform": metrics.kl_to_uniform(hist),
        "crisp": metrics.crisp_pixels(images_u8),
    }
    out["fid_ratio"] = out["fid"] / out["floor_fid"]
    if pr:
        out["precision"], out["recall"] = metrics.precision_recall(ref["feats"], feats,
                                                                    real_radii=reference_radii(ref))
    if labels is not None:
        out["label_accuracy"] = metrics.label_accuracy(probs, labels)
    return out


def evaluate(model: GeneratorModel, n: int = 10000, seed: int = 12345, batch: int = 1000, pr: bool = True,
             digit: int | None = None, n_ref: int = 10000) -> dict:
    """Sample ``n`` digits (seeded) and score them. Conditional models get balanced labels."""
    images, labels = [], []
    for i in range(0, n, batch):
        m = min(batch, n - i)
        z = model.latents(seed + i, m)
        y = (torch.arange(i, i + m) % 10) if model.conditional else None
        if model.conditional and digit is not None:
            y = torch.full((m,), digit)
        images.append(torch.from_numpy(model.generate(z, y)))
        if y is not None:
            labels.append(y)
    images = torch.cat(images)
    out = score_images(images, n_ref=n_ref, labels=torch.cat(labels) if labels else None, pr=pr)
    if model.conditional:
        out["cgan_accuracy"] = out.pop("label_accuracy")
    digits = (model.meta.get("train_config") or {}).get("digits")
    if digits and len(digits) == 1:
        out["digit"] = digits[0]
        out["digit_share"] = out["class_hist"][digits[0]]
    out["preset"] = model.preset
    return out


def quick_quality(model: GeneratorModel, n: int = 500, seed: int = 4242) -> dict:
    """Small-sample FID ratio and class histogram: the live mode meter of the app and the gallery."""
    labels = torch.arange(n) % 10 if model.conditional else None
    imgs = torch.from_numpy(model.generate(model.latents(seed, n), labels))
    s = score_images(imgs, pr=False)
    return {k: s[k] for k in ("fid_ratio", "modes", "class_hist", "crisp")}


class QualityHook:
    """Quality checks of a run's sampling generator while it trains, as a ``progress`` hook: the
    app's live mode meter, the CLI's goal watch and the failure gallery's verdict all use this one.

    A check is due each time the run crosses a multiple of ``every_steps`` or ``every_seconds``
    of training (neither: only when ``final()`` is called); ``score(model)`` is the check
    (default ``quick_quality``, 500 samples) and ``on_check(row)`` hears every result. ``rows`` keeps them,
    each with the step and the seconds of training it was taken at."""

    def __init__(self, trainer, every_steps: int = 0, every_seconds: float = 0.0,
                 score: Callable[[GeneratorModel], dict] | None = None, on_check: Callable[[dict], None] | None = None):
        self.trainer, self.every_steps, self.every_seconds = trainer, every_steps, every_seconds
        self.score, self.on_check = score, on_check
        self.rows: list[dict] = []
        self._step, self._seconds = trainer.step, 0.0        # where the last check (or the start) was

    def __call__(self, p) -> None:
        crossed = ((self.every_steps and p.step // self.every_steps > self._step // self.every_steps) or
                   (self.every_seconds and p.elapsed // self.every_seconds > self._seconds // self.every_seconds))
        if p.status == "running" and p.step > self._step and crossed:
            self.check(p.elapsed)

    def check(self, seconds: float | None = None) -> dict:
        row = {"step": self.trainer.step, "seconds": round(seconds, 1) if seconds is not None else None}
        model = from_trainer(self.trainer)
        model.meta["train_config"] = self.trainer.cfg.to_dict()          # a single-digit model's digit
        row |= (self.score or quick_quality)(model)
        self._step, self._seconds = self.trainer.step, seconds if seconds is not None else self._seconds
        self.rows.append(row)
        if self.on_check is not None:
            self.on_check(row)
        return row

    def final(self, seconds: float | None = None) -> dict:
        """The check at the run's end, unless the last one was taken at this very step."""
        if self.rows and self.rows[-1]["step"] == self.trainer.step:
            return self.rows[-1]
        return self.check(seconds)

