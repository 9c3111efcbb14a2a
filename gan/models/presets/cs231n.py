"""cs231n-style convolutional GAN (the TensorFlow GAN tutorial in seed 003): avg-pool D, a
generator that projects z to a 56x56 map and convolves back down to 28x28, separate learning
rates (Adam D 3e-4, G 1e-4), batch 50 and 300 discriminator-only pre-training steps.

Faithful to the seed: both D convolutions are 5x5 with SAME padding, so the first dense layer
sees a 7x7x64 map; weights are drawn from a truncated normal (std 0.02), D's biases start at 0
and G's from the same truncated normal. One named deviation: the seed pre-trains D with two
separate Adam optimizers (one on the real loss, one on the fake loss); here pre-training steps
use D's one optimizer on the summed loss, as its alternating phase does.

The weights recipe's named changes: Adam beta1 0.5, EMA of G (0.999), and an R1 penalty on D
(``r1_gamma`` 1, Mescheder et al. 2018): without it every run collapsed to one to three digits
(the campaign's long run too, after reaching 7); with it, 8 digits and 133x floor after 6,000 steps
(weights/README.md, trials).
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan.models.registry import ModelConfig, Preset, register


@dataclass
class CS231nConfig(ModelConfig):
    output: str = "sigmoid"

    def build(self):
        return Generator(self), Discriminator(self)


def truncated_normal_init(module: nn.Module, zero_bias: bool) -> None:
    """TensorFlow's truncated_normal_initializer(stddev=0.02) for every conv/dense layer."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, 0.0, 0.02, -0.04, 0.04)
            if zero_bias:
                nn.init.zeros_(m.bias)
            else:
                nn.init.trunc_normal_(m.bias, 0.0, 0.02, -0.04, 0.04)


class Generator(nn.Module):
    def __init__(self, cfg: CS231nConfig):
        super().__init__()
        z, c1, c2 = cfg.z_dim, max(cfg.z_dim // 2, 1), max(cfg.z_dim // 4, 1)
        self.fc = nn.Linear(z, 56 * 56)                      # (N, z) -> (N, 3136) viewed as (1, 56, 56)
        self.bn0 = nn.BatchNorm2d(1, eps=1e-5)
        self.conv1 = nn.Conv2d(1, c1, 3, 2, 1)               # (1, 56, 56) -> (z/2, 28, 28)
        self.bn1 = nn.BatchNorm2d(c1, eps=1e-5)
        self.conv2 = nn.Conv2d(c1, c2, 3, 2, 1)              # resized (z/2, 56, 56) -> (z/4, 28, 28)
        self.bn2 = nn.BatchNorm2d(c2, eps=1e-5)
        self.conv3 = nn.Conv2d(c2, 1, 1)                     # every other pixel of (z/4, 56, 56) -> (1, 28, 28)
        truncated_normal_init(self, zero_bias=False)

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        h = F.relu(self.bn0(self.fc(z).view(-1, 1, 56, 56)))
        h = F.relu(self.bn1(self.conv1(h)))
        h = F.interpolate(h, size=(56, 56), mode="bilinear", align_corners=False)
        h = F.relu(self.bn2(self.conv2(h)))
        if not self.training:                                # sampling: the same function, ~20 % faster
            return torch.sigmoid(even_pixels_of_upsampled(self.conv3(h)))
        h = F.interpolate(h, size=(56, 56), mode="bilinear", align_corners=False)
        # the seed's 1x1 stride-2 conv, as a 1x1 conv of every other pixel: the same arithmetic and
        # weights, and it avoids a oneDNN fault in the strided 1x1 kernel with channels_last and
        # few channels (z_dim < 64 crashed the backward pass on CPUs, torch 2.14)
        return torch.sigmoid(self.conv3(h[:, :, ::2, ::2]))


def even_pixels_of_upsampled(x: torch.Tensor) -> torch.Tensor:
    """``F.interpolate(x, scale 2, bilinear, align_corners=False)[:, :, ::2, ::2]`` without the
    4x larger map: even output pixel 2k reads source k - 1/4, i.e. 3/4 x[k] + 1/4 x[k-1] (x[-1]
    clamped to x[0]) along each axis. A 1x1 conv commutes with it (both linear, the weights sum
    to 1), so the generator applies its last conv first, on 1 channel instead of z/4."""
    for dim in (2, 3):                                       # (N, C, H, W) -> same shape
        prev = torch.cat([x.narrow(dim, 0, 1), x.narrow(dim, 0, x.shape[dim] - 1)], dim)
        x = 0.75 * x + 0.25 * prev
    return x


class Discriminator(nn.Module):
    def __init__(self, cfg: CS231nConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(True), nn.AvgPool2d(2),    # (1, 28, 28) -> (32, 14, 14)
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(True), nn.AvgPool2d(2),   # -> (64, 7, 7)
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 1024), nn.ReLU(True),                        # -> (1024,)
            nn.Linear(1024, 1),                                                # logit
        )
        truncated_normal_init(self, zero_bias=True)

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(x).squeeze(1)


register(Preset(
    name="cs231n",
    description="cs231n conv GAN: avg-pool D, FC->56x56 G, Adam D 3e-4 / G 1e-4, 300 D pre-training steps",
    config_cls=CS231nConfig,
    recipe=dict(loss="non-saturating", optimizer="adam", lr_d=3e-4, lr_g=1e-4, betas=(0.9, 0.999),
                batch_size=50, d_pretrain_steps=300),
    reference="seed 003 (a TensorFlow conv GAN in the cs231n assignment's style)",
    goal={"fid_ratio": 12, "modes": 10},
    gpu_recipe={"ema": 0.999},
    weights_recipe={"ema": 0.999, "betas": (0.5, 0.999), "r1_gamma": 1.0},   # R1: no collapse (weights/README.md)
    tiny_model={"z_dim": 16},
))
