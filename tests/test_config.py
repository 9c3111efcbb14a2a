"""TrainConfig: what a checkpoint stores (JSON) rebuilds the same config."""
import json

import pytest

from gan.engine.config import TrainConfig


def test_a_config_read_back_from_a_checkpoints_json_is_the_same_config():
    cfg = TrainConfig.for_preset("one-digit", steps=5, digits=(3, 7), betas=(0.4, 0.9))
    stored = json.loads(json.dumps(cfg.to_dict()))                    # tuples come back as lists
    back = TrainConfig.from_dict(stored)
    assert back == cfg
    assert isinstance(back.digits, tuple) and isinstance(back.betas, tuple)


BAD_VALUES = [   # (field, value, the start of the message a user reads)
    ("steps", 1.5, "steps must be an integer, got 1.5"),
    ("steps", 0, "steps must be in [1, 1000000000], got 0"),
    ("d_steps", 2.0, "d_steps must be an integer, got 2.0"),
    ("batch_size", 1, "batch_size must be in [2, 65536], got 1"),
    ("seed", -1, "seed must be in [0, 9223372036854775807], got -1"),
    ("lr_g", "0.1", "lr_g must be a number, got '0.1'"),
    ("lr_g", True, "lr_g must be a number, got True"),
    ("lr_d", float("nan"), "lr_d must be in [1e-07, 1.0], got nan"),
    ("ema", 1.0, "ema must be in [0.0, 0.99999], got 1.0"),
    ("label_smoothing", 0.6, "label_smoothing must be in [0.0, 0.5], got 0.6"),
    ("seconds", 0.0, "seconds must be in [0.001, 10000000], got 0.0"),
    ("epochs", 10**6, "epochs must be in [0.001, 100000], got 1000000"),
    ("model", [], "model has the wrong type: []"),
    ("betas", "0.5", "betas has the wrong type: '0.5'"),
    ("digits", 3, "digits has the wrong type: 3"),
    ("device", 0, "device has the wrong type: 0"),
    ("out_dir", 5, "out_dir has the wrong type: 5"),
    ("sync_bn", 1, "sync_bn must be true or false, got 1"),
    ("amp", "yes", "amp must be true, false or unset, got 'yes'"),
    ("optimizer", "sgd", "optimizer must be one of ['adam', 'rmsprop'], got 'sgd'"),
    ("betas", (0.5, 1.0), "betas must be two numbers in [0, 1), got (0.5, 1.0)"),
    ("betas", (0.5,), "betas must be two numbers in [0, 1), got (0.5,)"),
    ("digits", (3, 3), "digits must be distinct integers 0-9, got (3, 3)"),
    ("digits", (), "digits must be distinct integers 0-9, got ()"),
    ("digits", (10,), "digits must be distinct integers 0-9, got (10,)"),
    ("device", "tpu", "device must be auto, cpu, cuda or cuda:N, got 'tpu'"),
    ("d_steps", 101, "d_steps must be in [1, 100], got 101"),
    ("d_steps", 2.5, "d_steps must be an integer, got 2.5"),
    ("batch_size", 16.5, "batch_size must be an integer, got 16.5"),
    ("sample_every", 1.5, "sample_every must be an integer, got 1.5"),
    ("lr_d", 1.5, "lr_d must be in [1e-07, 1.0], got 1.5"),
    ("betas", (0.5, 1.5), "betas must be two numbers in [0, 1), got (0.5, 1.5)"),
    ("betas", (-0.1, 0.9), "betas must be two numbers in [0, 1), got (-0.1, 0.9)"),
]

EDGES = [("d_steps", 1), ("d_steps", 100), ("batch_size", 2), ("lr_g", 1e-7), ("lr_d", 1.0), ("sample_every", 1),
         ("log_every", 1), ("checkpoint_every", 0), ("ema", 0.0), ("betas", (0.0, 0.0)), ("betas", (0.0, 0.999)),
         ("digits", (0, 9)), ("label_smoothing", 0.5), ("steps", 1), ("device", "cuda"), ("device", "cuda:1"),
         ("device", "auto"), ("device", "cpu")]


@pytest.mark.parametrize("field, value", EDGES, ids=[f"{f}={v!r}" for f, v in EDGES])
def test_every_edge_of_a_valid_range_is_accepted(field, value):
    cfg = TrainConfig.for_preset("one-digit", **({"steps": 5} | {field: value}))
    assert getattr(cfg, field) == value


@pytest.mark.parametrize("field, value, message", BAD_VALUES, ids=[f"{f}={v!r}" for f, v, _ in BAD_VALUES])
def test_a_bad_value_is_refused_with_a_message_that_names_the_field_and_what_it_takes(field, value, message):
    with pytest.raises(ValueError) as e:
        TrainConfig.for_preset("one-digit", **({"steps": 5} | {field: value}))
    assert str(e.value).startswith(message), str(e.value)


def test_a_config_needs_a_preset_name_and_a_length():
    with pytest.raises(ValueError, match=r"^preset must be a name, got 5$"):
        TrainConfig(preset=5, steps=1).validate()
    with pytest.raises(ValueError, match=r"^set a length: steps, epochs or seconds$"):
        TrainConfig(preset="dcgan").validate()
