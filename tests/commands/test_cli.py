import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gan.commands import main
from tests.helpers import ROOT


def run(*argv):
    return main(list(argv))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    """The real-MNIST smoke run: a small DCGAN for 30 steps through the CLI."""
    out = tmp_path_factory.mktemp("run")
    assert run("train", "--preset", "dcgan", "--steps", "30", "--batch-size", "32", "--out", str(out),
               "--data", str(mnist_dir), "--model", '{"ngf": 8, "ndf": 8}', "--log-every", "10",
               "--sample-every", "10", "--tensorboard", "--quiet", "--export", str(out / "g16.safetensors")) == 0
    return out


def test_a_seconds_run_says_which_mnist_and_shows_time_left(mnist_dir, tmp_path, capsys):
    assert run("train", "--preset", "vanilla", "--seconds", "2", "--data", str(mnist_dir), "--out", str(tmp_path),
               "--model", '{"hidden": [16, 32, 32, 64], "d_hidden": [32, 16], "z_dim": 16}') == 0
    out, err = capsys.readouterr()
    assert f"MNIST: idx:{mnist_dir} (60,000 training images)" in out
    assert re.search(r"\d+/2s \[\d\d:\d\d<\d\d:\d\d", err), err[-400:]    # a total and an ETA, in seconds


def test_list(capsys):
    from gan.app.runs import DEFAULT_TRAIN_PRESET
    from gan.models.registry import preset_names
    assert run("list") == 0
    out = capsys.readouterr().out
    marked = [line.split()[1] for line in out.splitlines() if line.startswith("* ")]
    assert marked == [DEFAULT_TRAIN_PRESET] and all(f" {name} " in out for name in preset_names())
    assert run("list", "--names") == 0
    assert capsys.readouterr().out.split() == preset_names()


def test_train_writes_everything(trained):
    assert (trained / "checkpoint.safetensors").is_file() and (trained / "checkpoint.json").is_file()
    assert (trained / "generator.safetensors").is_file() and (trained / "g16.safetensors").is_file()
    assert len(list((trained / "samples").glob("step_*.png"))) >= 3
    assert list((trained / "tb").glob("events.out.tfevents.*"))
    meta = json.loads((trained / "checkpoint.json").read_text())
    assert meta["step"] == 30 and meta["model_args"]["ngf"] == 8 and meta["config"]["preset"] == "dcgan"


def test_tensorboard_gets_every_statistic_and_the_samples_at_their_steps(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(trained / "tb")).Reload()
    for tag in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "train/images_per_sec"):
        steps = [e.step for e in events.Scalars(tag)]                      # the early reports, then every 10
        assert {10, 20, 30} <= set(steps) and steps == sorted(steps) and steps[-1] == 30, (tag, steps)
    speeds = [(e.step, e.value) for e in events.Scalars("train/images_per_sec") if e.step >= 10]
    assert all(v > 0 and v != step for step, v in speeds), speeds             # images a second, not the step
    assert [e.step for e in events.Images("samples")][-1] == 30


def test_resume_continues_from_the_checkpoint(trained, mnist_dir, tmp_path):
    assert run("train", "--preset", "dcgan", "--steps", "35", "--out", str(tmp_path), "--data", str(mnist_dir),
               "--resume", str(trained / "checkpoint.safetensors"), "--quiet") == 0
    meta, before = json.loads((tmp_path / "checkpoint.json").read_text()), json.loads((trained / "checkpoint.json").read_text())
    assert meta["step"] == 35 and meta["train_seconds"] > before["train_seconds"] > 0     # resumes add up


def test_resuming_a_finished_run_exports_it_without_training(trained, mnist_dir, tmp_path):
    """A run killed at a checkpoint can be exported later: same --steps, nothing left to train."""
    from gan.engine.checkpoint import read_tensors
    assert run("train", "--preset", "dcgan", "--steps", "30", "--out", str(tmp_path), "--data", str(mnist_dir),
               "--resume", str(trained / "checkpoint.safetensors"), "--export", str(tmp_path / "g.safetensors")) == 0
    assert json.loads((tmp_path / "checkpoint.json").read_text())["step"] == 30
    exported, resumed = read_tensors(trained / "generator.safetensors")[0], read_tensors(tmp_path / "generator.safetensors")[0]
    assert exported.keys() == resumed.keys() and all(torch.equal(exported[k], resumed[k]) for k in exported)


def test_sample_npy_and_png(trained, tmp_path):
    assert run("sample", "--weights", str(trained / "generator.safetensors"), "--n", "7", "--seed", "3",
               "--out", str(tmp_path / "s.npy")) == 0
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (7, 28, 28) and arr.dtype == np.uint8
    assert run("sample", "--weights", str(trained / "g16.safetensors"), "--n", "7", "--seed", "3",
               "--out", str(tmp_path / "s.png")) == 0
    assert Image.open(tmp_path / "s.png").size == (4 * (3 * 30 + 2),) * 2      # 7 digits -> 3 x 3, 4x by default
    assert run("sample", "--weights", str(trained / "g16.safetensors"), "--n", "7", "--seed", "3", "--scale", "1",
               "--out", str(tmp_path / "s1.png")) == 0
    small, big = np.asarray(Image.open(tmp_path / "s1.png")), np.asarray(Image.open(tmp_path / "s.png"))
    assert np.array_equal(big, np.kron(small, np.ones((4, 4), np.uint8)))   # nearest-neighbour, same picture


def test_eval_write_metrics_records_the_file_and_rewrites_the_card(trained, tmp_path, capsys):
    import shutil

    from gan.shipping.card import CARD_END, CARD_START
    weights = tmp_path / "dcgan.safetensors"
    shutil.copy(trained / "g16.safetensors", weights)
    (tmp_path / "README.md").write_text(f"# card\n\n{CARD_START}\n| old table |\n{CARD_END}\n\nmore text\n")
    shipped_cgan = json.loads((ROOT / "weights" / "metrics.json").read_text())["cgan"]
    (tmp_path / "metrics.json").write_text(json.dumps({"cgan": shipped_cgan}))
    assert run("eval", "--weights", str(weights), "--n", "200", "--write-metrics") == 0
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "metrics.json").read_text())
    m = data["dcgan"]
    assert data["cgan"] == shipped_cgan                                   # other entries untouched
    assert m["steps"] == 30 and m["ema"] is True and "--steps 30" in m["train_command"] and m["modes"] >= 0
    assert f"{m['fid_ratio']:.4f}" in out                                 # the printed table is the recorded one
    card = (tmp_path / "README.md").read_text()
    row = next(line for line in card.splitlines() if line.startswith("| `dcgan`"))
    assert f"**{m['fid_ratio']:.1f}x**" in row and f"| {m['steps']} |" in row and "no: " in row   # a 30-step model is short
    assert "| old table |" not in card and card.endswith("more text\n")


def test_eval_prints_an_aligned_table(trained, capsys):
    assert run("eval", "--weights", str(trained / "g16.safetensors"), "--n", "200") == 0
    rows = capsys.readouterr().out.strip().splitlines()
    numbers = [r for r in rows[1:] if not r.startswith("class_hist")]
    assert len({len(r) for r in [rows[0]] + numbers}) == 1, rows           # one width: values end in one column
    assert all("[" not in r for r in rows)                                  # lists printed as plain numbers


def test_eval_json_reports_every_metric_of_the_samples_asked_for(trained, capsys):
    assert run("eval", "--weights", str(trained / "g16.safetensors"), "--n", "200", "--json") == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 200 and len(m["class_hist"]) == 10 and 0 <= m["modes"] <= 10
    assert m["fid_ratio"] == pytest.approx(m["fid"] / m["floor_fid"])
    assert {"classifier_score", "real_classifier_score", "kl_uniform", "crisp", "precision", "recall"} <= set(m)


def test_shipped_cgan_digit_sampling(tmp_path):
    assert run("sample", "--weights", str(ROOT / "weights" / "cgan.safetensors"), "--n", "5", "--digit", "4",
               "--out", str(tmp_path / "four.npy")) == 0
    from gan.evaluation.classifier import embed
    _, probs = embed(np.load(tmp_path / "four.npy"))
    assert (probs.argmax(1) == 4).all()


@pytest.mark.parametrize("argv, message", [
    (["train", "--preset", "nope", "--out", "x"], "unknown preset"),
    (["train", "--preset", "dcgan", "--batch-size", "0", "--out", "x"], "batch_size"),
    (["train", "--preset", "dcgan", "--z-dim", "0", "--out", "x"], "z_dim"),
    (["sample", "--weights", "missing.safetensors", "--out", "x.npy"], "no such file"),
    (["sample", "--weights", str(ROOT / "weights" / "dcgan.safetensors"), "--n", "0", "--out", "x.npy"], "--n"),
    (["sample", "--weights", str(ROOT / "weights" / "dcgan.safetensors"), "--digit", "3", "--out", "x.npy"],
     "conditional"),
    (["sample", "--weights", str(ROOT / "weights" / "dcgan.safetensors"), "--out", "x.jpg"], ".npy or .png"),
    (["eval", "--weights", str(ROOT / "weights" / "mnist_classifier.safetensors"), "--n", "100"], "metadata"),
    (["train", "--preset", "dcgan", "--steps", "1", "--data", "/no/such/dir", "--out", "x"],
     "not usable in /no/such/dir"),                          # a named --data is never silently replaced
    (["sample", "--weights", str(ROOT / "weights" / "dcgan.safetensors"), "--scale", "0", "--out", "x.png"], "--scale"),
])
def test_bad_arguments_get_one_line_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_no_traceback_from_the_real_entry_point(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x02}q\x00.")                      # a pickle pretending to be weights
    p = subprocess.run([sys.executable, "-m", "gan", "sample", "--weights", str(bad), "--out", str(tmp_path / "a.npy")],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "pickle" in p.stderr


@pytest.mark.parametrize("flag, value, message", [
    ("--digits", "three", "digits must be like '0' or '3,5,8', got 'three'"),
    ("--betas", "0.5", "betas must be like '0.5,0.999', got '0.5'"),
    ("--model", "{ngf: 8}", "not JSON (Expecting property name enclosed in double quotes at character 1)"),
    ("--model", "[8]", "a JSON object like '{\"ngf\": 32}', got '[8]'"),
])
def test_malformed_option_values_say_what_they_should_look_like(flag, value, message, capsys, tmp_path):
    from gan.commands import main
    with pytest.raises(SystemExit):
        main(["train", "--preset", "dcgan", "--out", str(tmp_path), flag, value])
    assert message in capsys.readouterr().err


def test_gallery_takes_a_name_or_all_and_refuses_both(capsys):
    from gan.models.gallery import FAILURES
    assert main(["gallery"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [f.name for f in FAILURES]
    assert main(["gallery", "mode-collapse", "--all"]) == 2
    assert "a failure's name or --all, not both" in capsys.readouterr().err
    assert main(["gallery", "no-such-failure"]) == 2
    assert "unknown failure 'no-such-failure'" in capsys.readouterr().err


def test_a_missing_resume_file_fails_before_mnist_loads(tmp_path, capsys):
    """--data names a folder that does not exist: had MNIST been loaded first, that would be the error."""
    assert run("train", "--preset", "dcgan", "--steps", "5", "--resume", str(tmp_path / "nope.safetensors"),
               "--data", str(tmp_path / "no-mnist"), "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert "--resume: no checkpoint at" in err and "MNIST" not in err


def test_a_run_cut_by_seconds_says_so_beside_its_epoch_bar(mnist_dir, tmp_path, capsys):
    assert run("train", "--preset", "vanilla", "--epochs", "1", "--seconds", "1", "--data", str(mnist_dir),
               "--out", str(tmp_path), "--quiet",
               "--model", '{"hidden": [16, 32, 32, 64], "d_hidden": [32, 16], "z_dim": 16}') == 0
    out = capsys.readouterr().out
    assert "finished:" in out and "(--seconds 1 was reached before step 938)" in out


def test_the_cli_and_the_app_take_the_same_learning_rates(tmp_path):
    from gan.app.limits import Limits
    from gan.app.requests import TrainRequest
    from gan.app.runs import app_recipe
    from gan.commands import build_parser
    from gan.commands.options import config_from_args
    from gan.engine.options import LR_RANGE
    limits = Limits(1, 60, 100, 20, 2)
    for lr, ok in ((LR_RANGE[0], True), (LR_RANGE[1], True), (LR_RANGE[0] / 2, False), (LR_RANGE[1] * 1.01, False)):
        args = build_parser().parse_args(["train", "--preset", "dcgan", "--out", str(tmp_path), "--lr-g", str(lr)])
        request = TrainRequest.filled("dcgan", lr_g=lr)
        for make in (lambda: config_from_args(args), lambda: request.to_config(limits, app_recipe("dcgan"))):
            if ok:
                assert make().lr_g == lr
            else:
                with pytest.raises(ValueError, match="lr_g"):
                    make()


def _goal_verdicts(preset, met_at):
    """A stand-in for the goal watch's evaluator: short of ``preset``'s goal on every check before
    the ``met_at``-th (1-based; 0: never met), at it from then on."""
    from gan.models.registry import get_preset
    goal = get_preset(preset).goal
    met = {k: (v / 2 if k == "fid_ratio" else v) for k, v in goal.items()}
    short = {k: (v * 10 if k == "fid_ratio" else v - 1) for k, v in goal.items()}
    calls = []

    def evaluate(model, n, pr):
        calls.append(n)
        return met if met_at and len(calls) >= met_at else short
    return evaluate


@pytest.mark.parametrize("met_at", [3, 0])
def test_stop_at_goal_ends_a_run_at_the_first_check_that_meets_the_goal_and_never_before(
        met_at, monkeypatch, mnist_dir, tmp_path, capsys):
    from gan.commands import train as train_command
    from gan.engine.checkpoint import read_tensors
    verdicts = _goal_verdicts("dcgan", met_at)
    monkeypatch.setattr(train_command, "evaluate", verdicts)
    assert run("train", "--preset", "dcgan", "--steps", "12", "--batch-size", "16", "--model", '{"ngf": 8, "ndf": 8}',
               "--log-every", "1", "--stop-at-goal", "0.000001", "--data", str(mnist_dir), "--out", str(tmp_path),
               "--quiet") == 0
    _, meta = read_tensors(tmp_path / "generator.safetensors")
    checks = meta["recipe"]["goal_checks"]
    out = capsys.readouterr().out
    if met_at:      # checked after every step: the third check meets the goal and the run ends there
        assert len(checks) == 3 and [bool(c["short"]) for c in checks] == [True, True, False]
        assert meta["step"] == checks[-1]["step"] == 3 and meta["recipe"]["status"] != "finished"
        assert "step 3: FID 2.0x floor, 10 modes - goal met" in out
    else:           # never met: the run goes its whole length, checked at every step
        assert len(checks) == 12 and all(c["short"] for c in checks)
        assert meta["step"] == 12 and meta["recipe"]["status"] == "finished"
        assert "goal met" not in out


@pytest.mark.parametrize("better, write", [(True, True), (False, True), (True, False)])
def test_eval_keeps_re_estimated_batchnorm_statistics_only_when_better_and_asked(trained, tmp_path, capsys, monkeypatch,
                                                                                 better, write):
    import shutil

    from gan.engine.checkpoint import read_tensors
    from gan.shipping import batchnorm
    weights = tmp_path / "dcgan.safetensors"
    shutil.copy(trained / "g16.safetensors", weights)
    (tmp_path / "metrics.json").write_text("{}")
    judged = []
    monkeypatch.setattr(batchnorm, "better", lambda new, old: judged.append((new, old)) or better)
    quick = batchnorm.write_reestimated                                     # fewer passes: the same code, seconds sooner
    monkeypatch.setattr(batchnorm, "write_reestimated", lambda src, dst: quick(src, dst, batches=3, batch=64))
    assert run("eval", "--weights", str(weights), "--n", "200", "--reestimate-batchnorm", "--json",
               *(["--write-metrics"] if write else [])) == 0
    out = capsys.readouterr().out
    new, old = judged[0]
    assert new["fid_ratio"] != old["fid_ratio"]                            # two files were scored
    assert f"{'better' if better else 'not better'}" in out.splitlines()[0]
    assert ("batchnorm" in read_tensors(weights)[1]) is (better and write)
    assert not (tmp_path / "dcgan.batchnorm.safetensors").exists()
    if write:
        entry = json.loads((tmp_path / "metrics.json").read_text())["dcgan"]
        assert entry["fid_ratio"] == (new if better else old)["fid_ratio"] and ("batchnorm" in entry) is better
