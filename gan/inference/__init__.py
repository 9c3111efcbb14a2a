"""Using a trained generator: sampling, latent directions and sliders, int8 renders, probe discriminators."""
