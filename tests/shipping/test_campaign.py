"""The CPU weights campaign (gan/shipping/campaign.py, gan/commands/campaign.py) on a tiny preset and fake
data: resumes, the goal check, installing only what beats the shipped file, status and curves."""
import json
import math
import os
import shlex
import subprocess
import sys

import pytest
import torch

from gan.engine.checkpoint import read_tensors
from gan.models.registry import get_preset, preset_names
from gan.shipping.campaign import Campaign, Target, current_run, default_targets, eta_hours, format_status, stalled
from tests.helpers import ROOT, TINY


def tiny_target(name="vanilla", **kw):
    return Target(name, name, {"model": dict(TINY[name]), "batch_size": 16, "amp": False, "ema": 0.9,
                               "log_every": 5} | kw)


def scores(*ratios, floor=0.18):
    """A stand-in evaluator that returns these FID / floor values in turn (and remembers its calls)."""
    seq = iter(ratios)
    calls = []

    def evaluate(path):
        calls.append(path)
        r = next(seq)
        return {"fid_ratio": r, "fid": r * floor, "floor_fid": floor, "modes": 10, "classifier_score": 9.0,
                "precision": 0.5, "recall": 0.5, "steps": 0}
    evaluate.calls = calls
    return evaluate


def campaign(tmp_path, fake_digits, evaluate, targets=None, **kw):
    (tmp_path / "weights").mkdir(exist_ok=True)
    kw.setdefault("slice_steps", 10)
    kw.setdefault("batchnorm", False)             # the stand-in evaluators' sequences count one score a turn
    return Campaign(tmp_path / "camp", tmp_path / "weights", fake_digits, targets or [tiny_target()],
                    evaluate=evaluate, probe_steps=2, log=lambda s: None, **kw)


def test_a_resumed_campaign_trains_exactly_as_one_straight_run(tmp_path, fake_digits):
    from gan.engine.loop import train
    from gan.engine.trainer import Trainer
    c = campaign(tmp_path, fake_digits, scores(50, 40), install=False)
    c.turn(c.targets[0])
    again = campaign(tmp_path, fake_digits, scores(30), install=False)      # a new process: state from disk
    assert again.entry(again.targets[0])["step"] == 10
    again.turn(again.targets[0])
    e = json.loads((tmp_path / "camp" / "state.json").read_text())["vanilla"]
    assert (e["step"], e["turns"], [h["fid_ratio"] for h in e["history"]]) == (20, 2, [50, 30])
    assert e["cpu_seconds"] > 0
    cfg = c.targets[0].config(tmp_path / "straight", None, 20)
    straight = train(trainer=Trainer(cfg, fake_digits)).trainer
    ours, _ = read_tensors(tmp_path / "camp" / "vanilla" / "checkpoint.safetensors")
    for k, v in straight.G.state_dict().items():
        assert torch.equal(ours[f"G.{k}"], v), k


def test_only_a_file_that_beats_the_shipped_one_is_installed(tmp_path, fake_digits):
    weights = tmp_path / "weights"
    weights.mkdir()
    shipped = {"fid_ratio": 10.0, "fid": 1.8, "floor_fid": 0.18, "modes": 10, "marker": "shipped"}
    (weights / "metrics.json").write_text(json.dumps({"vanilla": shipped}))
    c = campaign(tmp_path, fake_digits, scores(12.0, 11.0, 9.0))
    c.turn(c.targets[0])
    c.turn(c.targets[0])
    assert not (weights / "vanilla.safetensors").exists()
    assert json.loads((weights / "metrics.json").read_text())["vanilla"]["marker"] == "shipped"
    assert c.entry(c.targets[0])["best"]["fid_ratio"] == 11.0          # the campaign's own best is kept
    c.turn(c.targets[0])
    assert json.loads((weights / "metrics.json").read_text())["vanilla"]["fid_ratio"] == 9.0
    for f in ("vanilla.safetensors", "samples/vanilla.png", "discriminators/vanilla.safetensors"):
        assert (weights / f).is_file(), f
    _, meta = read_tensors(weights / "vanilla.safetensors")
    assert meta["step"] == 30 and meta["recipe"]["cpu_hours"] >= 0
    state = json.loads((tmp_path / "camp" / "state.json").read_text())["vanilla"]
    assert [(row["step"], row["fid_ratio"]) for row in state["adopted"]] == [(30, 9.0)]   # the record of what went in


def test_a_better_file_left_uninstalled_is_installed_at_the_next_start_and_only_once(tmp_path, fake_digits):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "metrics.json").write_text(json.dumps({"vanilla": {"fid_ratio": 10.0, "fid": 1.8, "floor_fid": 0.18,
                                                                  "modes": 10}}))
    stopped = campaign(tmp_path, fake_digits, scores(9.0), install=False)      # as if stopped mid-install
    stopped.turn(stopped.targets[0])
    assert stopped.install_pending() == [] and not (weights / "vanilla.safetensors").exists()    # --no-install
    logs = []
    again = campaign(tmp_path, fake_digits, scores(), install=True)
    again.log = logs.append
    assert again.run(max_turns=0) == 0
    assert json.loads((weights / "metrics.json").read_text())["vanilla"]["fid_ratio"] == 9.0
    assert (weights / "vanilla.safetensors").read_bytes() == (tmp_path / "camp" / "vanilla" / "best.safetensors").read_bytes()
    assert logs == [f"vanilla: its best file (9.0x floor) beats the shipped one: installed into {weights}"]
    assert again.install_pending() == [] and len(again.entry(again.targets[0])["adopted"]) == 1


def test_a_campaign_killed_while_installing_finishes_the_install_at_its_next_start(tmp_path, fake_digits, monkeypatch):
    from gan.shipping import campaign as module
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "metrics.json").write_text(json.dumps({"vanilla": {"fid_ratio": 10.0, "fid": 1.8, "floor_fid": 0.18,
                                                                  "modes": 10}}))

    def killed(*args, **kw):
        raise SystemExit("killed while installing")
    monkeypatch.setattr(module, "install", killed)
    c = campaign(tmp_path, fake_digits, scores(9.0))
    with pytest.raises(SystemExit):
        c.turn(c.targets[0])
    monkeypatch.undo()
    again = campaign(tmp_path, fake_digits, scores())                        # a new process: state from disk
    assert again.entry(again.targets[0])["best"]["fid_ratio"] == 9.0
    assert again.install_pending() == ["vanilla"]
    assert json.loads((weights / "metrics.json").read_text())["vanilla"]["fid_ratio"] == 9.0


def trial_checkpoint(tmp_path, fake_digits, steps=6, **changes):
    """A recipe trial's checkpoint (gan/shipping/trials.py) of the tiny target's recipe, plus ``changes``."""
    from gan.shipping.trials import run_trial
    ckpt = tmp_path / "trial" / "checkpoint.safetensors"
    recipe = {"model": dict(TINY["vanilla"]), "batch_size": 16, "ema": 0.9} | changes
    run_trial("t", "vanilla", recipe, steps=steps, check_every=3, data=fake_digits, log_path=tmp_path / "trials.jsonl",
              score=lambda model: {"fid_ratio": 9.0, "modes": 10, "class_hist": [0.1] * 10}, checkpoint=ckpt,
              say=lambda s: None)
    return ckpt


def test_a_trials_run_of_the_weights_recipe_is_taken_over_and_goes_on_as_one_straight_run(tmp_path, fake_digits):
    from gan.engine.loop import train
    from gan.engine.trainer import Trainer
    c = campaign(tmp_path, fake_digits, scores(40.0, 8.0, 7.0), install=False)
    c.turn(c.targets[0])                                                  # its own run: 10 steps, 40x
    check = c.take_over(c.targets[0], trial_checkpoint(tmp_path, fake_digits, steps=12), cpu_hours=0.5)
    e = c.entry(c.targets[0])
    assert check["step"] == 12 and e["step"] == 12 and e["best"]["fid_ratio"] == 8.0     # checked at once
    assert e["cpu_seconds"] >= 0.5 * 3600 and e["restarts"][-1]["at_step"] == 12
    assert (tmp_path / "camp" / "vanilla" / "checkpoint-before-step-10.safetensors").is_file()
    c.turn(c.targets[0])
    assert e["step"] == 22 and [h["step"] for h in e["history"]] == [10, 12, 22]
    from gan.shipping.campaign import current_run
    assert [h["step"] for h in current_run(e["history"], e["restarts"])] == [12, 22]  # the run since the take-over
    straight = train(trainer=Trainer(c.targets[0].config(tmp_path / "straight", None, 22), fake_digits)).trainer
    ours, _ = read_tensors(tmp_path / "camp" / "vanilla" / "checkpoint.safetensors")
    for k, v in straight.G.state_dict().items():
        assert torch.equal(ours[f"G.{k}"], v), k


def test_the_cli_takes_over_a_trials_checkpoint_with_its_cpu_hours(tmp_path, fake_digits, monkeypatch):
    """`gan campaign --targets vanilla --take-over <trial>/checkpoint.safetensors`: the shipped width's
    weights recipe, trained 3 steps by `gan trial`, checked at once (a stand-in evaluator), then it stops."""
    from gan.commands import campaign as command
    from gan.commands import main
    from gan.shipping import batchnorm
    from gan.shipping import campaign as module
    from gan.shipping.trials import run_trial
    monkeypatch.setattr(command, "become_idle", lambda: None)
    monkeypatch.setattr(command, "load_mnist", lambda split, where: fake_digits)
    monkeypatch.setattr(module, "_evaluate_10k", scores(8.0))
    monkeypatch.setattr(batchnorm, "write_reestimated", lambda src, dst: False)
    ckpt = tmp_path / "trial" / "checkpoint.safetensors"
    run_trial("t", "vanilla", dict(get_preset("vanilla").weights_recipe), steps=3, check_every=3, data=fake_digits,
              log_path=tmp_path / "l.jsonl", score=lambda m: {"fid_ratio": 9.0, "modes": 10, "class_hist": [0.1] * 10},
              checkpoint=ckpt, say=lambda s: None)
    (tmp_path / "trial" / "cpu_hours.json").write_text(json.dumps({"cpu_hours": 0.25}))   # as if it trained 15 CPU min
    argv = ["campaign", "--dir", str(tmp_path / "camp"), "--weights", str(tmp_path / "w"), "--threads", "1",
            "--no-install", "--targets", "vanilla", "--take-over", str(ckpt)]
    assert main(argv) == 0
    e = json.loads((tmp_path / "camp" / "state.json").read_text())["vanilla"]
    assert e["step"] == 3 and e["turns"] == 0 and [h["fid_ratio"] for h in e["history"]] == [8.0]
    assert e["cpu_seconds"] == pytest.approx(900) and e["restarts"][0]["taken_over"] == str(ckpt)


def test_a_checkpoint_of_another_recipe_is_not_taken_over(tmp_path, fake_digits):
    c = campaign(tmp_path, fake_digits, scores(), install=False)
    with pytest.raises(ValueError, match=r"trains another recipe than vanilla's weights recipe \(ema differ\)"):
        c.take_over(c.targets[0], trial_checkpoint(tmp_path, fake_digits, ema=0.99))
    assert c.entry(c.targets[0])["step"] == 0 and not (tmp_path / "camp" / "vanilla").exists()


def test_a_worse_check_keeps_the_best_file(tmp_path, fake_digits):
    c = campaign(tmp_path, fake_digits, scores(5.0, 20.0), install=False, targets=[tiny_target()])
    c.turn(c.targets[0])
    best = (tmp_path / "camp" / "vanilla" / "best.safetensors").read_bytes()
    c.turn(c.targets[0])
    assert (tmp_path / "camp" / "vanilla" / "best.safetensors").read_bytes() == best
    assert c.entry(c.targets[0])["best"]["fid_ratio"] == 5.0


def test_the_campaign_stops_at_the_goal_and_rotates_fairly_until_then(tmp_path, fake_digits):
    goal = get_preset("vanilla").goal["fid_ratio"]
    targets = [tiny_target(), Target("vanilla-b", "vanilla", tiny_target().overrides, ship=False)]
    ev = scores(goal + 1, goal + 2, goal - 0.5, goal + 3, goal - 1)
    c = campaign(tmp_path, fake_digits, ev, targets=targets, install=False)
    order = []
    real_turn = c.turn
    c.turn = lambda t, abort=None: (order.append(t.name), real_turn(t, abort))[1]
    assert c.run(max_turns=50) == 5
    assert order == ["vanilla", "vanilla-b", "vanilla", "vanilla-b", "vanilla-b"]
    assert c.pick() is None and all(not r["short"] for r in c.status_rows())


def test_a_target_just_short_of_its_goal_is_still_trained(tmp_path, fake_digits):
    goal = get_preset("vanilla").goal["fid_ratio"]
    c = campaign(tmp_path, fake_digits, scores(goal * 1.001), install=False)
    c.turn(c.targets[0])
    assert c.pick() is c.targets[0] and c.shortfalls(c.targets[0])


def test_abort_stops_the_turn_and_keeps_a_resumable_checkpoint(tmp_path, fake_digits):
    c = campaign(tmp_path, fake_digits, scores(9.0), install=False, slice_steps=10_000)
    calls = []
    c.turn(c.targets[0], abort=lambda: len(calls) > 3 or calls.append(1))
    e = c.entry(c.targets[0])
    assert 0 < e["step"] < 10_000
    _, meta = read_tensors(tmp_path / "camp" / "vanilla" / "checkpoint.safetensors")
    assert meta["step"] == e["step"]


def test_a_turn_is_a_slice_of_cpu_time_however_long_it_waits(tmp_path, fake_digits, monkeypatch):
    """A clock that charges 10 ms of CPU a step: 0.3 CPU s is 30 steps, however long they take."""
    from types import SimpleNamespace

    from gan.engine.trainer import Trainer
    from gan.shipping import campaign as module
    cpu, real_step = [0.0], Trainer.train_step

    def charged(self):
        cpu[0] += 0.01
        real_step(self)
    monkeypatch.setattr(Trainer, "train_step", charged)
    monkeypatch.setattr(module, "time", SimpleNamespace(process_time=lambda: cpu[0]))
    c = campaign(tmp_path, fake_digits, scores(30.0, 20.0), install=False, slice_steps=None, slice_seconds=0.3)
    c.turn(c.targets[0])
    e = c.entry(c.targets[0])
    assert e["step"] == 30 and e["cpu_seconds"] == pytest.approx(0.3)
    c.turn(c.targets[0])
    assert e["step"] == 60 and [h["step"] for h in e["history"]] == [30, 60]


def test_eta_follows_a_log_linear_trend_and_refuses_a_flat_one():
    falling = [{"cpu_hours": h, "fid_ratio": 100 * math.exp(-h)} for h in (0, 1, 2, 3)]
    assert eta_hours(falling, 100 * math.exp(-5)) == pytest.approx(2.0)
    assert eta_hours(falling, 1000) == 0.0
    assert eta_hours([{"cpu_hours": h, "fid_ratio": 50 + h} for h in range(4)], 7) is None
    assert eta_hours(falling[:2], 7) is None


def rows(*pairs, start=0):
    """History rows (FID / floor, CPU hours), one check a step apart."""
    return [{"step": start + i + 1, "cpu_hours": h, "fid_ratio": r, "modes": 10} for i, (r, h) in enumerate(pairs)]


def test_a_run_counts_as_stalled_only_when_it_is_checks_and_cpu_hours_past_its_best():
    falling = rows((40, 0.1), (30, 0.3), (20, 0.5), (15, 0.7), (12, 0.9))
    assert stalled(falling) is None
    past = rows((40, 0.1), (10, 0.3), (11, 0.5), (12, 0.6), (14, 0.7), (13, 0.8))
    assert stalled(past) == past[1]                                   # 4 checks and 0.5 CPU h after its best
    assert stalled(past[:-1]) is None                                 # 3 checks: not yet
    assert stalled(past, cpu_hours=0.6) is None                       # 4 checks, but 0.5 CPU h < 0.6
    assert stalled(past, checks=0) is None                            # patience 0: never
    tie = rows((10, 0.1), (10, 0.3), (10, 0.5), (10, 0.7), (10, 0.9))
    assert stalled(tie) == tie[0]                                     # equal is not better
    digit = [r | {"digit_share": s} for r, s in zip(past, (0.5, 0.96, 0.9, 0.9, 0.9, 0.95))]
    assert stalled(digit) == digit[1]                                 # single digit: the share decides
    again = past + rows((300, 1.0), start=0)                          # started again from scratch: step 1
    assert current_run(again) == again[-1:] and stalled(again) is None


def test_a_stalled_target_gets_no_turns_and_the_campaign_stops_when_only_stalled_ones_are_left(tmp_path, fake_digits):
    logs = []
    targets = [tiny_target(), Target("vanilla-b", "vanilla", tiny_target().overrides, ship=False)]
    c = campaign(tmp_path, fake_digits, scores(*[20.0] * 7), targets=targets, install=False, patience=(2, 0.0))
    c.log = logs.append
    order = []
    real_turn = c.turn
    c.turn = lambda t, abort=None: (order.append(t.name), real_turn(t, abort))[1]
    assert c.run(max_turns=50) == 6                                   # 3 checks each: the first, then 2 no better
    assert order == ["vanilla", "vanilla-b"] * 3
    assert logs[-1] == "stopping: vanilla, vanilla-b stalled short of the goal (change their weights recipes)"
    assert "STALLED: no better than 20.0x (step 10) since" in format_status(c.status_rows())
    moved = Target("vanilla", "vanilla", tiny_target().overrides | {"ema": 0.99})     # a new recipe: turns again
    again = campaign(tmp_path, fake_digits, scores(19.0), targets=[moved, targets[1]], install=False,
                     patience=(2, 0.0))
    assert again.pick() is moved and again.run(max_turns=1) == 1
    assert again.entry(moved)["step"] == 10 and again.stalled(moved) is None


def test_status_names_every_target_and_its_shortfall(tmp_path, fake_digits):
    c = campaign(tmp_path, fake_digits, scores(30.0), install=False)
    c.turn(c.targets[0])
    text = format_status(c.status_rows())
    assert "vanilla" in text and "30.0x" in text and "FID 30x floor (goal <= 7x)" in text


def test_every_preset_has_a_valid_weights_recipe_at_the_shipped_width(tmp_path):
    names = [t.name for t in default_targets()]
    assert set(preset_names()) <= set(names) and names[0] == "cs231n"
    for t in default_targets():
        cfg = t.config(tmp_path, 60.0)
        faithful = get_preset(t.preset).recipe.get("model", {})        # no width of the app's CPU recipe
        assert cfg.model == faithful | t.overrides.get("model", {}) and cfg.amp is False and cfg.checkpoint_every > 0
        assert not {"ngf", "ndf", "depth", "hidden", "d_hidden"} & set(cfg.model), t.name
        assert cfg.ema == 0.999, t.name


def test_the_cli_status_prints_the_table_and_draws_the_curves(tmp_path, fake_digits):
    from PIL import Image
    c = campaign(tmp_path, fake_digits, scores(40.0, 20.0), install=False)
    c.turn(c.targets[0])
    c.turn(c.targets[0])
    weights = tmp_path / "weights"
    out = subprocess.run([sys.executable, "-m", "gan", "campaign", "--status", "--dir", str(tmp_path / "camp"),
                          "--weights", str(weights)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "vanilla" in out.stdout and "20.0x" in out.stdout
    img = Image.open(weights / "campaign.png").convert("RGB")
    assert img.size == (760, 420) and len(img.getcolors(1 << 16)) > 3


def test_a_second_campaign_on_the_same_folder_is_refused(tmp_path):
    from gan.commands.campaign import claim
    live = subprocess.Popen(["sleep", "30"])
    try:
        lock = tmp_path / "campaign.pid"
        lock.write_text(str(live.pid))
        with pytest.raises(ValueError, match=f"pid {live.pid}"):
            claim(lock)
    finally:
        live.kill()
        live.wait()
    claim(lock)                                      # a dead owner's file is taken over
    assert lock.read_text() == str(os.getpid())


@pytest.mark.parametrize("call, want", [("become_idle()", ("True", "19")),
                                        ("become_idle(10, idle_class=False)", ("False", "10"))])   # a trial's
def test_the_campaign_yields_to_other_sessions_as_well(call, want):
    """Linux autogroups: a thread's idle class only counts inside its session's group, so a
    campaign started with setsid also lowers its group (else it took half the CPU from tests)."""
    code = (f"import os; before = os.nice(0); from gan.commands.campaign import become_idle; {call}; "
            "print(before, os.sched_getscheduler(0) == os.SCHED_IDLE, os.nice(0), open('/proc/self/autogroup').read())")
    if not os.path.exists("/proc/self/autogroup"):
        pytest.skip("no autogroups on this kernel")

    def normal_priority():               # this thread may run at an app training thread's nice 19 (inherited)
        try:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
        except OSError:
            pass
    out = subprocess.run(["setsid", sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         preexec_fn=normal_priority)
    assert out.returncode == 0, out.stderr
    before, idle, nice, group = out.stdout.split(maxsplit=3)
    assert idle == want[0] and int(nice) == max(int(want[1]), int(before)) and group.strip().endswith(f"nice {want[1]}")


@pytest.mark.parametrize("target", default_targets(), ids=lambda t: t.name)
def test_a_shipped_files_command_is_the_one_straight_run_its_turns_add_up_to(target, tmp_path):
    """metrics.json's train_command reproduces a campaign's file: the CLI builds the same config."""
    from gan.commands import build_parser
    from gan.commands.options import config_from_args
    command = target.train_command(1234)
    args = build_parser().parse_args(shlex.split(command)[3:] + ["--out", str(tmp_path)])
    cli = config_from_args(args)
    ours = target.config(tmp_path, None, 1234)
    skip = {"out_dir", "checkpoint_every", "log_every", "compile", "device", "seconds"}
    assert {k: v for k, v in cli.to_dict().items() if k not in skip} == \
        {k: v for k, v in ours.to_dict().items() if k not in skip}


@pytest.mark.parametrize("install", [False, True])
def test_the_cli_runs_the_chosen_targets_in_turns_of_the_given_length_and_installs_only_when_told(
        install, tmp_path, fake_digits, monkeypatch):
    """`gan campaign --targets --turns --slice-minutes [--no-install]` end to end (in-process, the
    evaluator a stand-in that calls every file better than nothing shipped)."""
    from gan.commands import campaign as command
    from gan.commands import main
    from gan.shipping import campaign as module
    installed = []
    monkeypatch.setattr(command, "become_idle", lambda: None)              # not the test process
    monkeypatch.setattr(command, "load_mnist", lambda split, where: fake_digits)
    monkeypatch.setattr(module, "_evaluate_10k", scores(50.0, 40.0))
    from gan.shipping import batchnorm
    monkeypatch.setattr(batchnorm, "write_reestimated", lambda src, dst: False)   # one score a turn
    monkeypatch.setattr(module, "install", lambda weights, name, path, *a, **kw: installed.append(name))
    turns = 2 if install else 1
    argv = ["campaign", "--dir", str(tmp_path / "camp"), "--weights", str(tmp_path / "w"), "--threads", "2",
            "--targets", "vanilla,dcgan", "--turns", str(turns), "--slice-minutes", "0.05"]
    assert main(argv + ([] if install else ["--no-install"])) == 0
    state = json.loads((tmp_path / "camp" / "state.json").read_text())
    assert set(state) == {"dcgan", "vanilla"}                         # the targets asked for, no other
    assert [state[name]["turns"] for name in ("dcgan", "vanilla")] == [1, turns - 1]     # priority order
    for name in ("dcgan", "vanilla")[:turns]:
        assert 3.0 <= state[name]["cpu_seconds"] < 15.0, name       # 0.05 CPU minutes a turn (+ its last step)
    assert not (tmp_path / "camp" / "campaign.pid").exists()
    assert installed == (["dcgan", "vanilla"] if install else [])


@pytest.mark.parametrize("argv,words", [
    (["--targets", "vanilla,stylegan9"], "unknown target(s) ['stylegan9']; choose from cs231n,"),
    (["--slice-minutes", "0.04"], "--slice-minutes must be in [0.05, 600], got 0.04"),
    (["--slice-minutes", "601"], "--slice-minutes must be in [0.05, 600], got 601"),
    (["--patience", "-1"], "--patience must be 0 (never) or more checks, got -1"),
    (["--take-over", "x.safetensors"], "--take-over needs the one target it is for: --targets NAME"),
    (["--take-over", "x.safetensors", "--targets", "vanilla"], "--take-over: no checkpoint at x.safetensors"),
])
def test_the_cli_refuses_an_unknown_target_or_a_turn_length_out_of_range(argv, words, tmp_path, capsys):
    from gan.commands import main
    assert main(["campaign", "--dir", str(tmp_path / "camp"), "--weights", str(tmp_path / "w"), "--status", *argv]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "camp").exists()


def test_a_changed_weights_recipe_starts_its_target_again_and_an_unchanged_one_resumes(tmp_path, fake_digits):
    first = campaign(tmp_path, fake_digits, scores(50.0, 40.0), install=False)
    first.turn(first.targets[0])
    first.turn(first.targets[0])                                              # resumed: same recipe
    e = first.entry(first.targets[0])
    assert e["step"] == 20 and "restarts" not in e
    changed = tiny_target(step_order="d-first", ema=0.99)                    # the recipe moved on
    again = campaign(tmp_path, fake_digits, scores(30.0), install=False, targets=[changed])
    again.turn(changed)
    e = json.loads((tmp_path / "camp" / "state.json").read_text())["vanilla"]
    assert e["step"] == 10 and e["turns"] == 3 and e["best"]["fid_ratio"] == 30.0
    assert e["restarts"] == [{"step": 20, "cpu_hours": e["restarts"][0]["cpu_hours"], "changed": ["ema", "step_order"]}]
    folder = tmp_path / "camp" / "vanilla"
    assert (folder / "checkpoint-before-step-20.safetensors").is_file()
    saved = read_tensors(folder / "checkpoint.safetensors")[1]["config"]
    assert saved["step_order"] == "d-first" and saved["ema"] == 0.99



def test_a_model_field_written_out_at_its_default_is_the_same_recipe():
    from gan.engine.config import TrainConfig
    from gan.engine.loop import recipe_of
    left_out, written, other = (TrainConfig(preset="vanilla", model=m, steps=1)
                                for m in ({}, {"bn_momentum": 0.1}, {"bn_momentum": 0.2}))
    assert recipe_of(left_out) == recipe_of(written) != recipe_of(other)
    assert recipe_of(TrainConfig(preset="vanilla", steps=5, out_dir="a")) == recipe_of(TrainConfig(preset="vanilla", seconds=9))
