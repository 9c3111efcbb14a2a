"""The one place that maps between uint8 pixels and a generator's output range."""
from __future__ import annotations

import torch


def from_pixels(images_u8: torch.Tensor, output: str, dtype=torch.float32) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in G's output range."""
    x = images_u8.to(dtype).unsqueeze(1) / 255.0
    return x * 2 - 1 if output == "tanh" else x


def to_unit(x: torch.Tensor, output: str) -> torch.Tensor:
    """G's output -> float in [0, 1]."""
    x = x.float()
    return ((x + 1) / 2 if output == "tanh" else x).clamp(0, 1)


def to_pixels(x: torch.Tensor, output: str) -> torch.Tensor:
    """G's output (N, 1, 28, 28) -> uint8 (N, 28, 28) on the CPU."""
    return (to_unit(x, output) * 255).round().to(torch.uint8).squeeze(1).cpu()
