"""Built-in GAN variants; importing this package registers them all."""
from gan.models.presets import cgan, cs231n, dcgan, keras_dcgan, one_digit, vanilla, wgan_gp  # noqa: F401
