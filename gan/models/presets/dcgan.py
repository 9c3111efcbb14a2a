"""DCGAN (Radford et al. 2015) at 28x28: strided convs in D, transposed convs in G, BatchNorm
in both (not on D's input layer nor G's output), ReLU + Tanh in G, LeakyReLU(0.2) in D, no
pooling and no hidden fully connected layers; weights ~ N(0, 0.02), Adam 2e-4 with beta1 0.5,
batch 128 (the paper's), as pytorch/examples writes it (4x4 kernels, z ~ N(0, 1)).

Seed 000 lists the paper's guidelines, then reports a run of the TensorFlow DCGAN of its time
(carpedm20's DCGAN-tensorflow) with its recommended MNIST settings. Those settings, and what we do:
- batch 64: we keep the paper's 128;
- one D update, then two G updates per iteration ("different from paper", its code says): we keep
  the paper's one and one; ``g_steps=2`` is that setting (the trial ``g-steps-2`` measures it);
- z ~ U(-1, 1) (the paper's too): we draw N(0, 1), as pytorch/examples (a named deviation: the
  shipped weights and the campaign's run were trained on it);
- images in [0, 1] with a sigmoid output for MNIST: we keep the paper's tanh and [-1, 1];
- conditioning: its MNIST model is conditional (the label joins z, every G feature map and D's
  input, with fully connected 1024-unit layers in G and D); this preset is the paper's
  unconditional DCGAN (the conditional model is the ``cgan`` preset);
- 5x5 kernels: we keep pytorch/examples' 4x4 (same strides and sizes).
Named change in the recipe: EMA of G's weights (0.999), which the paper does not use."""
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan.models.registry import ModelConfig, Preset, register


@dataclass
class DCGANConfig(ModelConfig):
    ngf: int = 64   # G width: 4*ngf channels at 7x7, 2*ngf at 14x14
    ndf: int = 64   # D width: ndf at 14x14, 2*ndf at 7x7

    def build(self):
        return Generator(self), Discriminator(self)


def dcgan_init(module: nn.Module) -> nn.Module:
    """Radford et al.: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def dcgan_generator_body(in_dim: int, ngf: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_dim, ngf * 4, 7, 1, 0, bias=False),      # (in, 1, 1) -> (4ngf, 7, 7)
        nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),     # -> (2ngf, 14, 14)
        nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1),                       # -> (1, 28, 28)
        nn.Tanh(),
    )


def dcgan_discriminator_trunk(ndf: int, batchnorm: bool = True) -> nn.Sequential:
    norm = nn.BatchNorm2d(ndf * 2) if batchnorm else nn.Identity()
    return nn.Sequential(
        nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),            # (1, 28, 28) -> (ndf, 14, 14)
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=not batchnorm),           # -> (2ndf, 7, 7)
        norm, nn.LeakyReLU(0.2, True),
    )


class Generator(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.net = dcgan_generator_body(cfg.z_dim, cfg.ngf)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.net(z[:, :, None, None])                           # (N, z) -> (N, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self, cfg: DCGANConfig, batchnorm: bool = True):
        super().__init__()
        self.trunk = dcgan_discriminator_trunk(cfg.ndf, batchnorm)
        self.head = nn.Conv2d(cfg.ndf * 2, 1, 7)                         # (2ndf, 7, 7) -> (1, 1, 1) logit
        dcgan_init(self)

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.head(self.trunk(x)).flatten()                       # (N,)


register(Preset(
    name="dcgan",
    description="Radford's DCGAN at 28x28: transposed-conv G, strided-conv D, BatchNorm, Adam 2e-4",
    config_cls=DCGANConfig,
    recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
                batch_size=128, ema=0.999),
    reference="Radford et al. 2015; pytorch/examples dcgan",
    goal={"fid_ratio": 4, "classifier_score": 9.3, "modes": 10},
    gpu_recipe={"batch_size": 256, "lr_g": 4e-4, "lr_d": 4e-4, "ema": 0.999},
    # R1 (gamma 1): 56x floor at 5,000 steps (0.38 CPU h) where the faithful recipe had ~93x at 4,000 (weights/README.md)
    weights_recipe={"ema": 0.999, "r1_gamma": 1.0},
    tiny_model={"ngf": 8, "ndf": 8, "z_dim": 16},
    cpu_recipe={"model": {"ngf": 32, "ndf": 32}},
))
