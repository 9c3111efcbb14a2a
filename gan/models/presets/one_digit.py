"""Single-digit MLP GAN (the classic "generate one MNIST digit" tutorial): one hidden layer
each, LeakyReLU(0.01), dropout in G, z ~ U(-1, 1), one-sided label smoothing 0.1, Adam 1e-3.
Trains on one chosen digit (``digits=(0,)`` by default)."""
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan.models.registry import ModelConfig, Preset, register


@dataclass
class OneDigitConfig(ModelConfig):
    z_dist: str = "uniform"
    hidden: int = 128
    dropout: float = 0.2

    def build(self):
        return Generator(self), Discriminator(self)


class Generator(nn.Module):
    def __init__(self, cfg: OneDigitConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim, cfg.hidden), nn.LeakyReLU(0.01), nn.Dropout(cfg.dropout),  # (N, z) -> (N, 128)
            nn.Linear(cfg.hidden, 28 * 28), nn.Tanh(),                                       # -> (N, 784)
        )

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(z).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self, cfg: OneDigitConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(28 * 28, cfg.hidden), nn.LeakyReLU(0.01), nn.Linear(cfg.hidden, 1))

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


register(Preset(
    name="one-digit",
    description="Single-digit MLP GAN: one hidden layer, label smoothing 0.1, z ~ U(-1,1), trains on one digit",
    config_cls=OneDigitConfig,
    recipe=dict(loss="non-saturating", optimizer="adam", lr_g=1e-3, lr_d=1e-3, betas=(0.9, 0.999),
                batch_size=100, label_smoothing=0.1, digits=(0,)),
    reference="Udacity deep-learning GAN MNIST notebook",
    goal={"digit_share": 0.97},
    gpu_recipe={"ema": 0.999},
    weights_recipe={"ema": 0.999},
    tiny_model={"hidden": 32, "z_dim": 16},
))
