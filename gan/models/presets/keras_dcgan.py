"""Keras-style DCGAN from Rowel Atienza's "GAN by Example using Keras on TensorFlow Backend":
D = 5x5 convs (64, 128, 256, 512; strides 2, 2, 2, 1) each with LeakyReLU(0.2) + Dropout(0.4),
then Dense(1) + sigmoid; G = Dense(7*7*256) + BN + ReLU + Dropout(0.4), then UpSampling +
Conv2DTranspose 5x5 blocks down to one sigmoid channel (images in [0, 1]); RMSprop.
Keras BatchNormalization(momentum=0.9) is PyTorch's momentum=0.1 (the default).
Named deviations: z ~ N(0, 1) where the source draws U(-1, 1) (the shipped weights and the
campaign's checkpoints were trained on it; a change waits for a retrain); RMSprop without Keras's
time-based decay (6e-8 per step: 0.06 % lower rates after 10,000 steps)."""
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan.models.registry import ModelConfig, Preset, register


@dataclass
class KerasDCGANConfig(ModelConfig):
    output: str = "sigmoid"
    depth: int = 64          # G: 4*depth channels at 7x7; D: depth .. 8*depth
    dropout: float = 0.4

    def build(self):
        return Generator(self), Discriminator(self)


def up_block(cin: int, cout: int, upsample: bool) -> list[nn.Module]:
    up = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
    return up + [nn.ConvTranspose2d(cin, cout, 5, 1, 2), nn.BatchNorm2d(cout), nn.ReLU(True)]


class Generator(nn.Module):
    def __init__(self, cfg: KerasDCGANConfig):
        super().__init__()
        d = cfg.depth
        self.fc = nn.Sequential(nn.Linear(cfg.z_dim, 7 * 7 * 4 * d), nn.BatchNorm1d(7 * 7 * 4 * d), nn.ReLU(True))
        self.net = nn.Sequential(
            nn.Dropout(cfg.dropout),
            *up_block(4 * d, 2 * d, upsample=True),     # (4d, 7, 7) -> (2d, 14, 14)
            *up_block(2 * d, d, upsample=True),         # -> (d, 28, 28)
            *up_block(d, d // 2, upsample=False),       # -> (d/2, 28, 28)
            nn.ConvTranspose2d(d // 2, 1, 5, 1, 2),     # -> (1, 28, 28)
            nn.Sigmoid(),
        )
        self.depth = d

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        h = self.fc(z).view(-1, 4 * self.depth, 7, 7)   # (N, z) -> (N, 4d, 7, 7)
        return self.net(h)


class Discriminator(nn.Module):
    def __init__(self, cfg: KerasDCGANConfig):
        super().__init__()
        d, p = cfg.depth, cfg.dropout

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 5, stride, 2), nn.LeakyReLU(0.2, True), nn.Dropout(p)]

        self.net = nn.Sequential(
            *block(1, d, 2),            # (1, 28, 28) -> (d, 14, 14)
            *block(d, 2 * d, 2),        # -> (2d, 7, 7)
            *block(2 * d, 4 * d, 2),    # -> (4d, 4, 4)
            *block(4 * d, 8 * d, 1),    # -> (8d, 4, 4)
            nn.Flatten(),
            nn.Linear(8 * d * 16, 1),   # logit; the sigmoid lives in the loss
        )

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(x).squeeze(1)


register(Preset(
    name="keras-dcgan",
    description="Keras DCGAN (Atienza): upsample + transposed conv G, dropout D, sigmoid output, RMSprop",
    config_cls=KerasDCGANConfig,
    recipe=dict(loss="non-saturating", optimizer="rmsprop", lr_d=2e-4, lr_g=1e-4, batch_size=256,
                clip_grad=1.0),
    reference="roatienza/Deep-Learning-Experiments Keras/dcgan/dcgan_mnist.py",
    goal={"fid_ratio": 12, "modes": 10},
    gpu_recipe={"ema": 0.999},
    weights_recipe={"ema": 0.999},
    tiny_model={"depth": 8, "z_dim": 16},
))
