"""Vanilla MLP GAN (Goodfellow et al. 2014), as PyTorch-GAN's implementations/gan/gan.py writes it
(seed 001): G 100-128-256-512-1024-784 with BatchNorm after every hidden layer but the first and
LeakyReLU(0.2), Tanh; D 784-512-256-1 with LeakyReLU(0.2); BCE; Adam 2e-4, betas (0.5, 0.999), batch 64.

Read against the seed's code, line by line:
- step order: each iteration steps G first, then D on the same fakes (detached, made before G's
  update): followed (``step_order="g-first"``);
- ``nn.BatchNorm1d(out_feat, 0.8)`` passes 0.8 as ``eps``: an evident slip for Keras-GAN's
  ``BatchNormalization(momentum=0.8)`` (PyTorch-GAN's Keras sibling), i.e. PyTorch's momentum 0.2 -
  followed as intended (``bn_momentum=0.2``, normal eps);
- D ends in a Sigmoid with BCELoss: we return the logit and put the sigmoid in the loss (the same
  function, stabler); its D loss is (real + fake) / 2: ours sums them (Adam's steps are unchanged
  by a constant factor, up to its epsilon);
- PyTorch's default initialisation, no dropout, z ~ N(0, 1), images in [-1, 1]: the same;
- the data loader keeps the last, partial batch of each epoch (32 images): ours drops it.
- the seed saves G's training-mode outputs (batch statistics); ours samples in eval mode (running
  statistics), as a model that draws one digit at a time must.
The weights recipe takes D's step first (a named change): measured with ``gan trial`` (weights/README.md),
it reaches 10.7x floor after 30,000 steps where the seed's order reaches 21.6x at best; the momentum
makes no difference (11.0x with 0.1). It also adds an R1 penalty (gamma 1, a named change): without it
every run drifted after ~30,000 steps (10x floor at best, 27x by 183,000); with it the trial kept
falling, to 6.9x floor at 60,000 steps (0.32 CPU h, weights/README.md)."""
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan.models.registry import ModelConfig, Preset, register


@dataclass
class VanillaConfig(ModelConfig):
    hidden: tuple[int, ...] = (128, 256, 512, 1024)   # G's hidden widths
    d_hidden: tuple[int, ...] = (512, 256)            # D's hidden widths
    bn_momentum: float = 0.1                           # PyTorch's (running statistics); the seed's intended 0.2

    def build(self):
        return Generator(self), Discriminator(self)


class Generator(nn.Module):
    def __init__(self, cfg: VanillaConfig):
        super().__init__()
        layers, width = [], cfg.z_dim
        for i, h in enumerate(cfg.hidden):
            layers.append(nn.Linear(width, h))
            if i > 0:                                  # PyTorch-GAN: no BN on the first block
                layers.append(nn.BatchNorm1d(h, momentum=cfg.bn_momentum))
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
    recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), batch_size=64,
                step_order="g-first", model={"bn_momentum": 0.2}),
    reference="eriklindernoren/PyTorch-GAN implementations/gan/gan.py",
    goal={"fid_ratio": 7, "modes": 10},
    gpu_recipe={"ema": 0.999},
    # D first: 2x better at 30k steps; R1: no drift after 30k, 6.9x floor at 60k (weights/README.md, trials)
    weights_recipe={"ema": 0.999, "step_order": "d-first", "r1_gamma": 1.0},
    tiny_model={"hidden": [16, 32, 32, 64], "d_hidden": [32, 16], "z_dim": 16},
))
