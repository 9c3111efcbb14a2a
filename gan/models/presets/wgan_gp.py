"""WGAN-GP (Gulrajani et al. 2017): DCGAN-shaped generator, a critic without BatchNorm,
gradient penalty 10, five critic steps per generator step, Adam (0.5, 0.9)."""
from dataclasses import dataclass

from gan.models.presets.dcgan import DCGANConfig, Discriminator, Generator
from gan.models.registry import Preset, register


@dataclass
class WGANGPConfig(DCGANConfig):
    def build(self):
        return Generator(self), Discriminator(self, batchnorm=False)


register(Preset(
    name="wgan-gp",
    description="WGAN-GP: DCGAN generator, BatchNorm-free critic, gradient penalty 10, 5 critic steps",
    config_cls=WGANGPConfig,
    recipe=dict(loss="wgan-gp", optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9), batch_size=64,
                d_steps=5, gp_weight=10.0, ema=0.999),
    reference="Gulrajani et al. 2017, Algorithm 1",
    goal={"fid_ratio": 4, "classifier_score": 9.3, "modes": 10},
    gpu_recipe={"ema": 0.999},
    weights_recipe={"ema": 0.999},
    tiny_model={"ngf": 8, "ndf": 8, "z_dim": 16},
    cpu_recipe={"model": {"ngf": 32, "ndf": 32}},
))
