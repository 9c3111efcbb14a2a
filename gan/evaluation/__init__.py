"""Measuring a generator: the MNIST classifier, FID and friends, the evaluation run, its disk cache."""
