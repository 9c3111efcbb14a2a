"""Tiny fake MNIST for fast tests (no files, no network): ten fixed blurry stroke prototypes
plus noise. Test support, kept out of the package (and out of its mutation run)."""
import torch

from gan.engine.data import Digits


def synthetic_digits(n: int = 512, seed: int = 0) -> Digits:
    """Tiny fake MNIST for fast tests: ten fixed blurry stroke prototypes plus noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    protos = []
    for k in range(10):
        angle = torch.tensor(k * 0.314)
        cx, cy, r = 14 + 3 * torch.cos(angle), 14 + 3 * torch.sin(angle), 4 + k * 0.5
        ring = torch.exp(-((((xx - cx) ** 2 + (yy - cy) ** 2).sqrt() - r) ** 2) / 2)
        bar = torch.exp(-((xx - 14 - (k - 5)) ** 2) / 2) * (yy > 6) * (yy < 22)
        protos.append((ring * (k % 2 == 0) + bar * (k % 3 != 0) + 0.3 * ring).clamp(0, 1))
    protos = torch.stack(protos)
    labels = torch.arange(n) % 10
    imgs = protos[labels] + 0.15 * torch.randn(n, 28, 28, generator=g)
    return Digits((imgs.clamp(0, 1) * 255).round().to(torch.uint8), labels.long(), "synthetic")
