"""Vanilla MLP GAN (Goodfellow et al. 2014), as PyTorch-GAN's implementations/gan/gan.py writes it.

Only change: BatchNorm uses its normal eps (PyTorch-GAN passes 0.8 as ``eps`` by mistake,
meaning momentum).
"""
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan.models.registry import ModelConfig, Preset, register


@dataclass
class VanillaConfig(ModelConfig):
    hidden: tuple[int, ...] = (128, 256, 512, 1024)   # G's hidden widths
    d_hidden: tuple[int, ...] = (512, 256)            # D's hidden widths

    def build(self):
        return Generator(self), Discriminator(self)


class Generator(nn.Module):
    def __init__(self, cfg: VanillaConfig):
        super().__init__()
        layers, width = [], cfg.z_dim
        for i, h in enumerate(cfg.hidden):
            layers.append(nn.Linear(width, h))
            if i > 0:                                  # PyTorch-GAN: no BN on the first block
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.LeakyReLU(0.2))
            width = h
        layers += [nn.Linear(width, 28 * 28), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(z).view(-1, 1, 28, 28)          # (N, z) -> (N, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self, cfg: VanillaConfig):
        super().__init__()
        layers, width = [], 28 * 28
        for h in cfg.d_hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))              # logit; the sigmoid lives in the loss
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)        # (N, 1, 28, 28) -> (N,)


register(Preset(
    name="vanilla",
    description="Goodfellow's MLP GAN (PyTorch-GAN style): 100-128-256-512-1024-784 G, 784-512-256-1 D",
    config_cls=VanillaConfig,
    recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), batch_size=64),
    reference="eriklindernoren/PyTorch-GAN implementations/gan/gan.py",
    goal={"fid_ratio": 7, "modes": 10},
    gpu_recipe={"ema": 0.999},
    weights_recipe={"ema": 0.999},
    tiny_model={"hidden": [16, 32, 32, 64], "d_hidden": [32, 16], "z_dim": 16},
))
