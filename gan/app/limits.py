"""Server-side limits, from environment variables (all enforced on the server, whatever the UI allows):

  GAN_MAX_CONCURRENT_RUNS  training runs at once, all visitors together   (default 1 on CPU, 4 on GPU)
  GAN_MAX_RUN_SECONDS      longest training run                           (default 120 on CPU, 300 on GPU)
  GAN_MAX_SAMPLES          digits per request                              (default 100)
  GAN_MAX_UPLOAD_MB        size of an uploaded image or weights file       (default 20)
  GAN_MAX_RUNS_PER_SESSION runs kept per visitor (oldest dropped)          (default 5)
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch


def on_gpu() -> bool:
    return torch.cuda.is_available()


def zero_gpu() -> bool:
    """On Hugging Face ZeroGPU hardware: CUDA exists only inside ``spaces.GPU`` functions, in a
    forked worker; the main process must not initialise it, and torch.compile is unsupported."""
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def _env_num(name: str, default: float, lo: float, hi: float) -> float:
    raw = os.environ.get(name)
    try:
        v = float(raw) if raw is not None else default
    except ValueError:
        v = default
    return min(max(v, lo), hi) if math.isfinite(v) else default


@dataclass(frozen=True)
class Limits:
    max_concurrent_runs: int
    max_run_seconds: float
    max_samples: int
    max_upload_mb: float
    max_runs_per_session: int

    @classmethod
    def from_env(cls) -> "Limits":
        gpu = on_gpu()
        return cls(int(_env_num("GAN_MAX_CONCURRENT_RUNS", 4 if gpu else 1, 1, 64)),
                   _env_num("GAN_MAX_RUN_SECONDS", 300 if gpu else 120, 1, 24 * 3600),
                   int(_env_num("GAN_MAX_SAMPLES", 100, 1, 400)),
                   _env_num("GAN_MAX_UPLOAD_MB", 20, 0.01, 1024),
                   int(_env_num("GAN_MAX_RUNS_PER_SESSION", 5, 1, 100)))
