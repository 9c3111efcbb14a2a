"""Discriminators for the shipped generators, so the app's probe can score a drawing on them.

The files in weights/ keep generators only. ``fit_discriminator`` trains a fresh D of the
preset's architecture, with the GAN's own loss and recipe, against the frozen shipped G (in
eval mode, exactly as visitors sample it): it learns what tells MNIST apart from that
generator's digits, which is the question the probe asks. ``python -m gan fit-d`` writes
``weights/discriminators/<preset>.safetensors`` (float16, with how it was made in the header).
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from gan.engine.checkpoint import prefixed, save_tensors
from gan.engine.config import TrainConfig
from gan.engine.data import load_mnist
from gan.engine.trainer import Trainer
from gan.inference.sampling import load_generator, load_network

DISCRIMINATOR_FORMAT = "gan-playground/discriminator/v1"


def fit_discriminator(weights: str | Path, steps: int = 1000, data=None, device: str = "cpu", seed: int = 0,
                      log=None) -> Trainer:
    model = load_generator(weights)
    recipe = model.meta.get("train_config") or TrainConfig.for_preset(model.preset, steps=1).to_dict()
    cfg = TrainConfig.from_dict(recipe | {"model": model.mcfg.to_dict(), "steps": steps, "epochs": None,
                                          "seconds": None, "device": device, "ema": 0.0, "seed": seed,
                                          "out_dir": None, "compile": False, "d_pretrain_steps": 0})
    trainer = Trainer(cfg, data if data is not None else load_mnist("train"))
    trainer.G.load_state_dict(model.G.state_dict())
    trainer.G.eval().requires_grad_(False)
    for i in range(1, steps + 1):
        trainer.d_step()
        if log is not None and (i % 200 == 0 or i == steps):
            stats = trainer.read_stats()
            log(f"step {i}: D loss {stats['d_loss']:.3f}, D(x) {stats['d_real']:.2f}, D(G(z)) {stats['d_fake']:.2f}")
    return trainer


def export_discriminator(trainer: Trainer, path: str | Path, fitted_against: str) -> None:
    sd = {k: (v.half() if v.is_floating_point() else v) for k, v in trainer.D.state_dict().items()}
    meta = {"format": DISCRIMINATOR_FORMAT, "preset": trainer.cfg.preset, "model_args": trainer.mcfg.to_dict(),
            "loss": trainer.cfg.loss, "fitted_against": fitted_against, "steps": trainer.d_step_count,
            "train_config": trainer.cfg.to_dict()}
    save_tensors(path, prefixed("D", sd), meta)


def load_discriminator(path: str | Path, max_bytes: int | None = None) -> tuple[nn.Module, dict]:
    D, _, meta = load_network(path, "D", max_bytes)
    return D.float(), meta
