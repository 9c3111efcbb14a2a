"""The GAN variants: the preset registry, one file per preset, their layers, the failure gallery."""
