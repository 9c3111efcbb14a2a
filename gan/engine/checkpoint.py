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
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

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


# ---------------------------------------------------------------- a Trainer's state
def trainer_state(trainer) -> tuple[dict[str, torch.Tensor], dict]:
    """A Trainer's whole state: its tensors and the metadata (config, counters) that rebuild it."""
    tensors = prefixed("G", trainer.G.state_dict()) | prefixed("D", trainer.D.state_dict())
    if trainer.G_ema is not None:
        tensors |= prefixed("G_ema", trainer.G_ema.state_dict())
    tg, mg = flatten_optimizer("opt_g", trainer.opt_g)
    td, md = flatten_optimizer("opt_d", trainer.opt_d)
    tensors |= tg | td
    tensors["rng.gen"] = trainer.gen.get_state()
    tensors["rng.cpu"] = torch.get_rng_state()
    if trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    tensors["data.perm"] = trainer.perm
    meta = {"format": CHECKPOINT_FORMAT, "config": trainer.cfg.to_dict(), "model_args": trainer.mcfg.to_dict(),
            "preset": trainer.cfg.preset, "step": trainer.step, "d_step_count": trainer.d_step_count,
            "epoch_pos": trainer.epoch_pos, "epochs_done": trainer.epochs_done, "opt_g": mg, "opt_d": md,
            "train_seconds": trainer.train_seconds + trainer.session_seconds}
    return tensors, meta


def save_trainer(trainer, path) -> None:
    tensors, meta = trainer_state(trainer)
    save_tensors(path, tensors, meta)
    write_json_twin(path, meta)


def load_trainer_state(trainer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    trainer.G.load_state_dict(strip_prefix("G", tensors))
    trainer.D.load_state_dict(strip_prefix("D", tensors))
    if trainer.G_ema is not None:
        ema = strip_prefix("G_ema", tensors)
        trainer.G_ema.load_state_dict(ema if ema else trainer.G.state_dict())
    if "opt_g" in meta:
        for opt, name in ((trainer.opt_g, "opt_g"), (trainer.opt_d, "opt_d")):
            opt.load_state_dict(unflatten_optimizer(name, tensors, meta[name]))
            for param, state in opt.state.items():   # fused kernels read moments in the param's layout
                state.update({k: torch.empty_like(param).copy_(v) for k, v in state.items() if v.shape == param.shape})
        trainer.set_lr(trainer.cfg.lr_g, trainer.cfg.lr_d)
    if "rng.gen" in tensors:
        trainer.gen.set_state(tensors["rng.gen"])
        torch.set_rng_state(tensors["rng.cpu"])
        if trainer.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], trainer.device)
        trainer.perm = tensors["data.perm"].to(trainer.device)
    for k in ("step", "d_step_count", "epoch_pos", "epochs_done"):
        setattr(trainer, k, int(meta.get(k, 0)))
    trainer.train_seconds = float(meta.get("train_seconds", 0.0))
    if trainer.world.active:
        torch.manual_seed(trainer.cfg.seed + 1 + trainer.world.rank + trainer.step)   # dropout differs between ranks


def export_generator(trainer, path, extra: dict | None = None, half: bool = False) -> None:
    """Generator-only file for weights/: the sampling generator (EMA if any) + config."""
    sd = trainer.sampler.state_dict()
    if half:
        sd = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    save_generator(path, sd, trainer.cfg.preset, trainer.mcfg.to_dict(), trainer.cfg.to_dict(), trainer.step,
                   ema=trainer.G_ema is not None, **(extra or {}))

