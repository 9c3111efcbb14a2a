"""cs231n-style convolutional GAN (the TensorFlow GAN assignment): avg-pool D, a generator
that projects z to a 56x56 map and convolves back down to 28x28, separate learning rates
and discriminator-only pre-training."""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan.registry import ModelConfig, Preset, register


@dataclass
class CS231nConfig(ModelConfig):
    output: str = "sigmoid"

    def build(self):
        return Generator(self), Discriminator(self)


class Generator(nn.Module):
    def __init__(self, cfg: CS231nConfig):
        super().__init__()
        z, c1, c2 = cfg.z_dim, max(cfg.z_dim // 2, 1), max(cfg.z_dim // 4, 1)
        self.fc = nn.Linear(z, 56 * 56)                      # (N, z) -> (N, 3136) viewed as (1, 56, 56)
        self.bn0 = nn.BatchNorm2d(1)
        self.conv1 = nn.Conv2d(1, c1, 3, 2, 1)               # (1, 56, 56) -> (z/2, 28, 28)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, 2, 1)              # (z/2, 56, 56) -> (z/4, 28, 28)
        self.bn2 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, 1, 1, 2)                  # (z/4, 56, 56) -> (1, 28, 28)

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        h = F.relu(self.bn0(self.fc(z).view(-1, 1, 56, 56)))
        h = F.relu(self.bn1(self.conv1(h)))
        h = F.interpolate(h, size=(56, 56), mode="bilinear", align_corners=False)
        h = F.relu(self.bn2(self.conv2(h)))
        h = F.interpolate(h, size=(56, 56), mode="bilinear", align_corners=False)
        return torch.sigmoid(self.conv3(h))


class Discriminator(nn.Module):
    def __init__(self, cfg: CS231nConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(True), nn.AvgPool2d(2),    # (1, 28, 28) -> (32, 12, 12)
            nn.Conv2d(32, 64, 5), nn.ReLU(True), nn.AvgPool2d(2),   # -> (64, 4, 4)
            nn.Flatten(),
            nn.Linear(64 * 16, 1024), nn.ReLU(True),                # -> (1024,)
            nn.Linear(1024, 1),                                     # logit
        )

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(x).squeeze(1)


register(Preset(
    name="cs231n",
    description="cs231n conv GAN: avg-pool D, FC->56x56 G, Adam D 3e-4 / G 1e-4, 300 D pre-training steps",
    config_cls=CS231nConfig,
    recipe=dict(loss="non-saturating", optimizer="adam", lr_d=3e-4, lr_g=1e-4, betas=(0.5, 0.999),
                batch_size=50, d_pretrain_steps=300),
    reference="Stanford cs231n assignment 3, GANs-TensorFlow.ipynb",
))
