"""The training engine: config, the Trainer and its loop, steps, losses, checkpoints, data, distributed."""
