"""Results worth keeping between processes (the evaluator's reference features, a shipped
model's slider directions): safetensors files in ``cache_dir()``, named by what they depend on.

A file that is missing, damaged or not what ``check`` expects is recomputed, never trusted; an
unwritable folder only means every process computes its own copy.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

import torch

from gan.engine.checkpoint import read_tensors, save_tensors

Entry = tuple[dict[str, torch.Tensor], dict[str, Any]]


def cache_dir() -> Path:
    """``$GAN_CACHE_DIR`` or ``~/.cache/gan-playground``."""
    return Path(os.environ.get("GAN_CACHE_DIR") or "~/.cache/gan-playground").expanduser()


def key_name(key: bytes) -> str:
    """The name a key is filed under (here, and in files that ship results, e.g. weights/directions)."""
    return hashlib.sha256(key).hexdigest()


def cache_path(kind: str, key: bytes) -> Path:
    return cache_dir() / f"{kind}-{key_name(key)[:20]}.safetensors"


def cached(kind: str, key: bytes, compute: Callable[[], Entry], check: Callable[[Entry], Any]) -> Any:
    """``check(entry)`` of the cached entry for ``key``, or of ``compute()``'s (then saved).
    ``check`` turns an entry into the caller's value and raises on anything incomplete."""
    path = cache_path(kind, key)
    try:
        return check(read_tensors(path))
    except Exception:  # noqa: BLE001 - any unreadable or incomplete cache is recomputed
        pass
    entry = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_tensors(path, *entry)
    except OSError:
        pass
    return check(entry)


def tensor_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """The bytes a result computed from these tensors depends on (names, shapes, values)."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().float().contiguous().cpu()
        h.update(f"{name}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.digest()
