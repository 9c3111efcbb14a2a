"""TrainConfig: what a checkpoint stores (JSON) rebuilds the same config."""
import json

from gan.config import TrainConfig


def test_a_config_read_back_from_a_checkpoints_json_is_the_same_config():
    cfg = TrainConfig.for_preset("one-digit", steps=5, digits=(3, 7), betas=(0.4, 0.9))
    stored = json.loads(json.dumps(cfg.to_dict()))                    # tuples come back as lists
    back = TrainConfig.from_dict(stored)
    assert back == cfg
    assert isinstance(back.digits, tuple) and isinstance(back.betas, tuple)
