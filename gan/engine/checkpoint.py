"""Checkpoints and generator exports as safetensors, written atomically.

A checkpoint is one ``.safetensors`` file: tensors ``G.*``, ``D.*``, ``G_ema.*``,
``opt_g.*``, ``opt_d.*``, ``rng.*`` and a metadata header holding JSON (the TrainConfig,
the model's ``model_args``, step counters, optimizer hyper-parameters). A ``.json`` twin
beside it repeats the metadata for people. Nothing here unpickles anything.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

CHECKPOINT_FORMAT = "gan-playground/checkpoint/v1"
GENERATOR_FORMAT = "gan-playground/generator/v1"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):   # left by a writer that was killed
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """safetensors file with ``meta`` JSON-encoded under the header key "json", written atomically."""
    from safetensors.torch import save
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_bytes(path, save(tensors, metadata={"json": json.dumps(meta)}))


def save_generator(path: str | Path, state_dict: dict[str, torch.Tensor], preset: str, model_args: dict,
                   train_config: dict, step: int, **extra: Any) -> None:
    """A generator-only file (weights/, downloads): ``G.*`` tensors + what rebuilds the model."""
    meta = {"format": GENERATOR_FORMAT, "preset": preset, "model_args": model_args, "train_config": train_config,
            "step": step} | extra
    save_tensors(path, prefixed("G", state_dict), meta)


def read_tensors(path: str | Path, max_bytes: int | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load tensors + metadata, refusing anything that is not a well-formed safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{path.name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    with open(path, "rb") as f:
        head = f.read(9)
    # safetensors: u64 header length, then the JSON header's "{". Checked first: a header
    # length of 128 + 256k also starts with the byte 0x80 that opens a pickle.
    if head[8:9] != b"{" and (head[:1] == b"\x80" or head[:2] == b"PK"):
        raise ValueError(f"{path.name}: this is a pickle / torch.save file; only .safetensors weights are accepted")
    try:
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as f:
            raw_meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ValueError(f"{path.name}: not a valid safetensors file ({e})") from None
    try:
        meta = json.loads(raw_meta.get("json", "{}"))
    except json.JSONDecodeError:
        raise ValueError(f"{path.name}: metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path.name}: metadata must be a JSON object")
    return tensors, meta


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state -> (tensors, JSON-able param_groups)."""
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            t = val if torch.is_tensor(val) else torch.tensor(val)
            tensors[f"{prefix}.{idx}.{key}"] = t
    # a CUDA-graph step keeps learning rates (and betas) as device tensors: JSON holds their values
    groups = [{k: _plain(v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups}


def _plain(v):
    if torch.is_tensor(v):
        return v.item() if v.numel() == 1 else v.tolist()
    if isinstance(v, (tuple, list)):
        return type(v)(_plain(x) for x in v)
    return v


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        if name.startswith(prefix + "."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = t
    groups = meta["param_groups"]
    for g in groups:
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


def prefixed(prefix: str, sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in sd.items()}


def strip_prefix(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def write_json_twin(path: str | Path, meta: dict[str, Any]) -> None:
    atomic_write_bytes(Path(path).with_suffix(".json"), json.dumps(meta, indent=2, default=str).encode())
