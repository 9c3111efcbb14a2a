"""MNIST GAN playground core: presets, data, training engine, sampling, metrics.

    from gan import TrainConfig, train, load_generator
    result = train(TrainConfig.for_preset("dcgan", epochs=5))
"""
from gan.engine.config import TrainConfig
from gan.engine.loop import Progress, TrainResult, train
from gan.engine.trainer import Trainer
from gan.inference.sampling import GeneratorModel, load_generator
from gan.models.registry import get_preset, preset_names

__all__ = ["TrainConfig", "train", "get_preset", "preset_names", "GeneratorModel", "load_generator",
           "Progress", "Trainer", "TrainResult"]
