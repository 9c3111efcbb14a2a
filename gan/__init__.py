"""MNIST GAN playground core: presets, data, training engine, sampling, metrics.

    from gan import TrainConfig, train, load_generator
    result = train(TrainConfig.for_preset("dcgan", epochs=5))
"""
from gan.config import TrainConfig
from gan.loop import train
from gan.registry import get_preset, preset_names
from gan.sampling import GeneratorModel, load_generator
from gan.training import Progress, Trainer, TrainResult

__all__ = ["TrainConfig", "train", "get_preset", "preset_names", "GeneratorModel", "load_generator",
           "Progress", "Trainer", "TrainResult"]
