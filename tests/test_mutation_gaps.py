"""Behaviour that single planted bugs slipped past before (issue: mutation score of the core).
Each test names the bug it catches; each checks what a user would see, not how it is coded."""
import numpy as np
import pytest
import torch
from conftest import TINY, tiny_config

from gan.engine.config import TrainConfig
from gan.engine.loop import train
from gan.engine.trainer import Trainer
from tests.helpers import draw


def _params(net) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def _moved(before: dict, net) -> bool:
    return any(not torch.equal(before[k], v) for k, v in net.named_parameters())


@pytest.mark.parametrize("preset", sorted(TINY))
def test_both_networks_learn_their_own_parameters(preset, fake_digits):
    """Bug: G's optimizer step replaced by D's (G never learns). Parameters only: BatchNorm
    buffers move without any optimizer step."""
    t = Trainer(tiny_config(preset, steps=3, d_pretrain_steps=0), fake_digits)
    g0, d0 = _params(t.G), _params(t.D)
    train(trainer=t)
    assert _moved(g0, t.G), "G's parameters never changed"
    assert _moved(d0, t.D), "D's parameters never changed"


def test_label_smoothing_changes_the_discriminator_step(fake_digits):
    """Bug: label smoothing silently ignored in the D step."""
    def one_d_step(smoothing):
        t = Trainer(tiny_config("dcgan", steps=1, label_smoothing=smoothing, amp=False), fake_digits)
        t.d_step()
        return t.read_stats()["d_loss"], _params(t.D)

    loss0, d0 = one_d_step(0.0)
    loss3, d3 = one_d_step(0.3)
    assert loss3 != pytest.approx(loss0, rel=1e-3)
    assert any(not torch.equal(d0[k], d3[k]) for k in d0)


def test_the_ema_follows_g_and_lags_behind_it(fake_digits):
    """Bug: the EMA of G never updated (it stayed the initial copy)."""
    t = Trainer(tiny_config("dcgan", steps=20, ema=0.9), fake_digits)
    start = _params(t.G_ema)
    train(trainer=t)
    ema, g = _params(t.G_ema), _params(t.G)
    assert any(not torch.equal(start[k], ema[k]) for k in start), "the EMA never moved"
    assert any(not torch.equal(g[k], ema[k]) for k in g), "the EMA is a copy of G, not an average"
    k = next(iter(g))          # an average of G's path lies closer to G's recent weights than the start does
    assert (ema[k] - g[k]).norm() < (start[k] - g[k]).norm()


@pytest.mark.parametrize("preset, lo, hi", [("dcgan", -1.0, 1.0), ("keras-dcgan", 0.0, 1.0)])
def test_real_images_reach_d_in_the_generators_range(preset, lo, hi, fake_digits):
    """Bug: real digits fed to a tanh generator's D in [0, 1] instead of [-1, 1]."""
    t = Trainer(tiny_config(preset), fake_digits)
    x, _ = t.next_batch()
    assert x.min() == pytest.approx(lo, abs=0.02) and x.max() == pytest.approx(hi, abs=0.02)


def test_a_digit_under_five_percent_is_not_a_mode():
    """Bug: the mode counter's 5 % threshold changed (e.g. to 0.5 %)."""
    from gan.evaluation.metrics import modes_covered
    hist = [0.3, 0.3, 0.3, 0.04, 0.03, 0.02, 0.01, 0.0, 0.0, 0.0]
    assert modes_covered(hist) == 3
    assert modes_covered([0.05] * 2 + [0.9] + [0.0] * 7) == 3


def test_mnist_with_wrong_label_counts_is_refused():
    """Bug: MNIST's label-count check disabled (a wrong or tampered file loads silently)."""
    from gan.engine.data import LABEL_COUNTS, check
    n = sum(LABEL_COUNTS["test"])
    labels = np.repeat(np.arange(10), [c for c in LABEL_COUNTS["test"]])
    check(np.zeros((n, 28, 28), np.uint8), labels, "test", "fine")
    labels[:50] = 3                                   # same length, other counts
    with pytest.raises(ValueError, match="label counts"):
        check(np.zeros((n, 28, 28), np.uint8), labels, "test", "tampered")


def test_the_server_caps_digits_per_request(fake_digits):
    """Bug: the server-side cap on digits per request replaced by a constant (the slider's
    bounds hide it in the browser; the API does not)."""
    from gan.app.limits import Limits
    from gan.inference.explore import Explorer
    from gan.inference.sampling import from_trainer
    ex = Explorer(from_trainer(train(tiny_config("cgan", steps=1), data=fake_digits).trainer))
    for cap in (12, 30):
        limits = Limits(max_samples=cap, max_run_seconds=10, max_upload_mb=1, max_runs_per_session=1,
                        max_concurrent_runs=1)
        assert draw(ex, 0, cap, limits=limits).shape[0] > 0
        with pytest.raises(ValueError, match=rf"n \(number of digits\) must be a whole number in \[1, {cap}\]"):
            draw(ex, 0, cap + 1, limits=limits)


CLI_OPTIONS = [   # every training option the CLI offers, a value unlike any preset's, and its config field
    ("--loss", "hinge", "loss", "hinge"), ("--label-smoothing", "0.17", "label_smoothing", 0.17),
    ("--d-steps", "3", "d_steps", 3), ("--d-pretrain-steps", "7", "d_pretrain_steps", 7),
    ("--gp-weight", "3.5", "gp_weight", 3.5), ("--optimizer", "rmsprop", "optimizer", "rmsprop"),
    ("--lr-g", "0.0123", "lr_g", 0.0123), ("--lr-d", "0.0456", "lr_d", 0.0456),
    ("--betas", "0.1,0.2", "betas", (0.1, 0.2)), ("--clip-grad", "0.7", "clip_grad", 0.7),
    ("--batch-size", "24", "batch_size", 24), ("--ema", "0.97", "ema", 0.97), ("--digits", "3,5", "digits", (3, 5)),
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


def test_a_resumed_cs231n_run_does_not_pretrain_its_discriminator_again(fake_digits, tmp_path):
    """Bug: the D step count not restored from the checkpoint: the resumed run pre-trains D again."""
    t = train(tiny_config("cs231n", steps=3), data=fake_digits).trainer       # 2 pre-training D steps, then 3 steps
    t.save(tmp_path / "c.safetensors")
    again = train(tiny_config("cs231n", steps=4), data=fake_digits, resume=tmp_path / "c.safetensors").trainer
    assert again.d_step_count == t.d_step_count + 1 and again.step == 4
    fresh = Trainer(tiny_config("cs231n", steps=4), fake_digits)
    assert fresh.d_step_count == 0                                  # (what a resume must not start from)


def test_a_state_without_an_ema_loads_into_a_trainer_with_one(fake_digits):
    """Trainer.load_state of a run that kept no EMA: the EMA starts from the loaded G, not from a random init."""
    t = train(tiny_config("dcgan", steps=2, ema=0.0), data=fake_digits).trainer
    r = Trainer(tiny_config("dcgan", steps=2, ema=0.9), fake_digits)
    r.load_state(*t.state_tensors())
    assert all(torch.equal(a, b) for a, b in zip(r.G_ema.state_dict().values(), t.G.state_dict().values()))


def test_a_gpu_checkpoint_resumes_on_a_cpu(fake_digits, tmp_path):
    """A checkpoint written on a GPU holds the CUDA generator state; a CPU resume must skip it."""
    from gan.engine import checkpoint as ckpt
    t = train(tiny_config("dcgan", steps=2), data=fake_digits).trainer
    tensors, meta = t.state_tensors()
    tensors["rng.cuda"] = torch.zeros(16, dtype=torch.uint8)
    ckpt.save_tensors(tmp_path / "gpu.safetensors", tensors, meta)
    r = Trainer(tiny_config("dcgan", steps=4), fake_digits)
    r.load_state(*ckpt.read_tensors(tmp_path / "gpu.safetensors"))
    assert r.step == 2


def test_rolling_back_restores_the_ema_too(fake_digits):
    """Trainer.restore (the loop's roll-back after a non-finite step) brings back G, D and G's EMA."""
    t = train(tiny_config("dcgan", steps=2, ema=0.9), data=fake_digits).trainer
    snap = t.snapshot()
    t.train_step()
    t.restore(snap)
    for name in ("G", "D", "G_ema"):
        assert all(torch.equal(v, snap[name][k]) for k, v in getattr(t, name).state_dict().items()), name


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
