"""Tests of gan/commands/options.py."""
import pytest

from gan.engine.config import TrainConfig
from gan.engine.options import OPTIONS

CLI_OPTIONS = [   # every training option the CLI offers, a value unlike any preset's, and its config field
    ("--loss", "hinge", "loss", "hinge"), ("--label-smoothing", "0.17", "label_smoothing", 0.17),
    ("--d-steps", "3", "d_steps", 3), ("--d-pretrain-steps", "7", "d_pretrain_steps", 7),
    ("--gp-weight", "3.5", "gp_weight", 3.5), ("--r1-gamma", "2.5", "r1_gamma", 2.5),
    ("--optimizer", "rmsprop", "optimizer", "rmsprop"),
    ("--lr-g", "0.0123", "lr_g", 0.0123), ("--lr-d", "0.0456", "lr_d", 0.0456),
    ("--betas", "0.1,0.2", "betas", (0.1, 0.2)), ("--clip-grad", "0.7", "clip_grad", 0.7),
    ("--batch-size", "24", "batch_size", 24), ("--ema", "0.97", "ema", 0.97), ("--digits", "3,5", "digits", (3, 5)),
    ("--instance-noise", "0.3", "instance_noise", 0.3), ("--g-steps", "2", "g_steps", 2),
    ("--step-order", "g-first", "step_order", "g-first"), ("--d-fakes", "eval", "d_fakes", "eval"),
    ("--adversarial-d", "trained", "adversarial_d", "trained"), ("--lr-half-life", "500", "lr_half_life", 500),
    ("--seed", "41", "seed", 41), ("--device", "cpu", "device", "cpu"), ("--no-compile", None, "compile", False),
    ("--no-amp", None, "amp", False), ("--steps", "77", "steps", 77), ("--epochs", "2.5", "epochs", 2.5),
    ("--seconds", "7", "seconds", 7.0), ("--log-every", "9", "log_every", 9),
    ("--sample-every", "11", "sample_every", 11), ("--checkpoint-every", "13", "checkpoint_every", 13),
]


@pytest.mark.parametrize("flag, value, field, expected", CLI_OPTIONS)
def test_every_cli_training_option_reaches_the_config(flag, value, field, expected, tmp_path):
    """Bug: a CLI training option (e.g. --lr-g) parsed but not applied."""
    from gan.commands import build_parser
    from gan.commands.options import config_from_args
    argv = ["train", "--preset", "dcgan", "--out", str(tmp_path), flag] + ([value] if value is not None else [])
    cfg = config_from_args(build_parser().parse_args(argv))
    assert getattr(cfg, field) == expected
    assert getattr(TrainConfig.for_preset("dcgan", steps=1), field) != expected    # the option changed something


def test_cli_model_options_reach_the_architecture(tmp_path):
    from gan.commands import build_parser
    from gan.commands.options import config_from_args
    args = build_parser().parse_args(["train", "--preset", "dcgan", "--out", str(tmp_path), "--z-dim", "17",
                                      "--z-dist", "uniform", "--model", '{"ngf": 12}'])
    mcfg = config_from_args(args).model_config()
    assert (mcfg.z_dim, mcfg.z_dist, mcfg.ngf) == (17, "uniform", 12)


@pytest.mark.parametrize("length, bounds", [([], {"steps": None, "epochs": 1, "seconds": None}),
                                            (["--steps", "5000"], {"steps": 5000, "epochs": None, "seconds": None}),
                                            (["--seconds", "9"], {"steps": None, "epochs": None, "seconds": 9.0})])
def test_a_cli_run_is_bounded_by_the_length_given_or_one_epoch(length, bounds, tmp_path):
    """Bug: --steps not seen as a length, so the run also stopped after one epoch (or two without one)."""
    from gan.commands import build_parser
    from gan.commands.options import config_from_args
    cfg = config_from_args(build_parser().parse_args(["train", "--preset", "dcgan", "--out", str(tmp_path)] + length))
    assert {k: getattr(cfg, k) for k in bounds} == bounds and cfg.out_dir == str(tmp_path)


@pytest.mark.parametrize("flag, choices", [("--loss", None), ("--optimizer", ("adam", "rmsprop")),
                                           ("--z-dist", ("normal", "uniform"))])
def test_cli_choices_take_every_valid_value_and_list_them_for_a_wrong_one(flag, choices, tmp_path, capsys):
    from gan.commands import build_parser
    from gan.engine.losses import LOSSES
    choices = choices or tuple(LOSSES)
    base = ["train", "--preset", "dcgan", "--out", str(tmp_path)]
    for value in choices:
        assert getattr(build_parser().parse_args(base + [flag, value]), flag[2:].replace("-", "_")) == value
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(base + [flag, "bogus"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {flag}: invalid choice: 'bogus'" in err
    assert all(repr(c) in err for c in choices)                   # the user is told what is valid


def test_every_row_of_the_options_table_has_a_flag_in_the_list_above():
    """A new option's flag comes from the table; this list (its effect, end to end) must name it too."""
    listed = {field for _, _, field, _ in CLI_OPTIONS}
    assert {o.name for o in OPTIONS} <= listed
