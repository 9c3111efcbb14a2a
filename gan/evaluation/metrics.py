"""Quality metrics as small pure functions of evaluator features / class probabilities.

All work in float64. FID uses the symmetric form tr(sqrt(S1^1/2 S2 S1^1/2)) via two
eigendecompositions, which is exact for PSD covariances and needs no scipy.
"""
from __future__ import annotations

import math

import torch


def _psd_sqrt(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def fid_from_stats(mu1, cov1, mu2, cov2) -> float:
    s1 = _psd_sqrt(cov1.double())
    cross = torch.linalg.eigvalsh(s1 @ cov2.double() @ s1).clamp(min=0).sqrt().sum()
    diff = (mu1.double() - mu2.double())
    return float(diff @ diff + torch.trace(cov1.double()) + torch.trace(cov2.double()) - 2 * cross)


def feature_stats(feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    f = feats.double()
    return f.mean(0), torch.cov(f.T)


def fid(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets."""
    return fid_from_stats(*feature_stats(feats_a), *feature_stats(feats_b))


def classifier_score(probs: torch.Tensor, eps: float = 1e-12) -> float:
    """Inception-Score analogue exp(E_x KL(p(y|x) || p(y))), in [1, 10] for MNIST."""
    p = probs.double()
    py = p.mean(0, keepdim=True)
    kl = (p * ((p + eps).log() - (py + eps).log())).sum(1).mean()
    return float(kl.exp())


def class_histogram(probs: torch.Tensor) -> list[float]:
    """Share of samples predicted as each digit."""
    pred = probs.argmax(1)
    return (torch.bincount(pred, minlength=10).double() / len(pred)).tolist()


def modes_covered(hist: list[float], threshold: float = 0.05) -> int:
    return sum(h >= threshold for h in hist)


def crisp_pixels(images_u8: torch.Tensor, low: int = 32, high: int = 223) -> float:
    """Share of pixels that are clearly background or clearly ink (real MNIST: 0.92). An untrained
    G draws grey fog (~0.3), which the classifier can still read confidently as some digit."""
    x = torch.as_tensor(images_u8)
    return float(((x < low) | (x > high)).float().mean())


def kl_to_uniform(hist: list[float], eps: float = 1e-12) -> float:
    return float(sum(h * math.log((h + eps) * len(hist)) for h in hist if h > 0))


def kth_nn_radius(feats: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point: the radii of the k-NN manifold."""
    feats = feats.float()
    radii = []
    for i in range(0, len(feats), chunk):
        d = torch.cdist(feats[i:i + chunk], feats)
        radii.append(d.kthvalue(k + 1, dim=1).values)   # +1: skip the point itself
    return torch.cat(radii)


def _inside_manifold(query: torch.Tensor, ref: torch.Tensor, radii: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    out = []
    for i in range(0, len(query), chunk):
        d = torch.cdist(query[i:i + chunk], ref)
        out.append((d <= radii[None, :]).any(1))
    return torch.cat(out)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """Kynkaanniemi et al. 2019: precision = share of fakes inside the real k-NN manifold,
    recall = share of reals inside the fake manifold. ``real_radii``: ``kth_nn_radius(real, k)``
    computed once for a fixed reference (10,000 reals: ~1 s on a CPU, the same every time)."""
    real, fake = real.float(), fake.float()
    r_real = kth_nn_radius(real, k) if real_radii is None else real_radii
    if r_real.shape != (len(real),):
        raise ValueError(f"real_radii must hold one radius per real point ({len(real)}), got shape {tuple(r_real.shape)}")
    r_fake = kth_nn_radius(fake, k)
    precision = _inside_manifold(fake, real, r_real).double().mean().item()
    recall = _inside_manifold(real, fake, r_fake).double().mean().item()
    return precision, recall


def label_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of samples the classifier puts in the requested class (cgan, one-digit)."""
    return (probs.argmax(1).cpu() == torch.as_tensor(labels).cpu()).double().mean().item()
