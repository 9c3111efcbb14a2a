"""Single-digit MLP GAN (the classic "generate one MNIST digit" tutorial, seed 004): one hidden layer
each, LeakyReLU(0.01), dropout 0.2 in G, z ~ U(-1, 1), one-sided label smoothing 0.1, Adam 1e-3
(TensorFlow's betas), D's step then G's on the same noise. Trains on one chosen digit
(``digits=(0,)`` by default).

Read against the seed's code, line by line:
- batch: the code feeds one image per step (``[batch_images]``, ten thousand steps over a loop that
  asks for more zeros than MNIST has): we use the Udacity notebook's batch of 100 it follows;
- smoothing: ``labels=tf.ones_like(d_logits_real)) * (1 - smooth)`` closes the parenthesis early,
  scaling D's real loss by 0.9 instead of its target - read as intended (target 0.9); the same
  factor on G's loss would make G's target 0.9 as well: ours keeps G's target 1 (one-sided
  smoothing, as the notebook and Salimans et al. 2016);
- ``tf.layers.dropout(rate=0.2)`` without ``training=True`` never drops anything; the text means
  dropout against over-fitting: on while training (as intended), off when sampling;
- ``tf.layers.dense`` initialises glorot-uniform with zero biases: ours PyTorch's default (a named
  deviation: the shipped file, at its goal, was trained with it).
- LeakyReLU 0.01, 128 hidden units, Adam 1e-3 with betas (0.9, 0.999), images in [-1, 1]: the same.
Named change in the weights recipe: EMA 0.999."""
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
