"""Conditional DCGAN: the label is embedded and concatenated to z in G; D is a projection
discriminator (Miyato & Koyama 2018): logit = w . h(x) + embed(y) . h(x)."""
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan.models.presets.dcgan import dcgan_discriminator_trunk, dcgan_generator_body, dcgan_init
from gan.models.registry import ModelConfig, Preset, register


@dataclass
class CGANConfig(ModelConfig):
    num_classes: int = 10
    ngf: int = 64
    ndf: int = 64
    embed_dim: int = 32     # size of the label embedding concatenated to z

    def build(self):
        return Generator(self), Discriminator(self)


class Generator(nn.Module):
    def __init__(self, cfg: CGANConfig):
        super().__init__()
        self.embed = nn.Embedding(cfg.num_classes, cfg.embed_dim)
        self.net = dcgan_generator_body(cfg.z_dim + cfg.embed_dim, cfg.ngf)
        dcgan_init(self)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)             # labels as strong as z

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._from_embedding(z, self.embed(y))

    def blend_labels(self, z: torch.Tensor, a: int, b: int, t: torch.Tensor) -> torch.Tensor:
        """Images whose label embedding moves from digit a to digit b as t goes 0 -> 1 (interpolation)."""
        w = self.embed.weight
        return self._from_embedding(z, (1 - t[:, None]) * w[a] + t[:, None] * w[b])

    def _from_embedding(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, e], dim=1)                             # (N, z + e)
        return self.net(h[:, :, None, None])                     # -> (N, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self, cfg: CGANConfig):
        super().__init__()
        width = cfg.ndf * 2 * 7 * 7
        self.trunk = nn.Sequential(dcgan_discriminator_trunk(cfg.ndf), nn.Flatten())  # -> (N, 2ndf*49)
        self.linear = nn.Linear(width, 1)
        self.embed = nn.Embedding(cfg.num_classes, width)
        dcgan_init(self)                                          # projection starts near zero

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)   # (N,)


register(Preset(
    name="cgan",
    description="Conditional DCGAN: pick the digit; label embedding in G, projection discriminator",
    config_cls=CGANConfig,
    recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
                batch_size=128, ema=0.999),
    reference="Mirza & Osindero 2014; Miyato & Koyama 2018 (projection D)",
    goal={"fid_ratio": 2, "cgan_accuracy": 0.99, "modes": 10},
    gpu_recipe={"batch_size": 256, "lr_g": 4e-4, "lr_d": 4e-4, "ema": 0.999},
    # R1 (gamma 1): 3.7x floor at 5,000 steps (0.40 CPU h), below the campaign's 4.8x plateau (weights/README.md)
    weights_recipe={"ema": 0.999, "r1_gamma": 1.0},
    tiny_model={"ngf": 8, "ndf": 8, "z_dim": 16, "embed_dim": 4},
    # the visitor's 60 s on 2 cores (bench visitor): batch 128, no EMA 10.8x floor; EMA 0.99 6.8x; EMA 0.995 and
    # batch 64 (more, smaller steps) 5.6x, all ten digits
    cpu_recipe={"model": {"ngf": 32, "ndf": 32}, "lr_g": 1e-3, "lr_d": 1e-3, "ema": 0.995, "batch_size": 64},
))
