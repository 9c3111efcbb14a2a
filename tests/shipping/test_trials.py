"""Recipe trials (gan/shipping/trials.py, gan/commands/trial.py) on tiny presets and fake data: the
schedule of checks, CPU hours without the scoring, the log, the card's table and charts, the CLI."""
import json
import math
import time

import pytest
import torch
from PIL import Image, ImageColor

from gan.shipping.trials import TRIALS_END, TRIALS_START, draw_trials, read_trials, run_trial, trials_table
from tests.helpers import TINY


def stand_in(*ratios, burn: float = 0.0, modes: int = 10):
    """A scorer returning these FID / floor values in turn, each after ``burn`` seconds of CPU work."""
    seq = iter(ratios)

    def score(model):
        t0 = time.process_time()
        while time.process_time() - t0 < burn:
            pass
        hist = [0.1] * 10 if modes == 10 else [1.0] + [0.0] * 9
        return {"fid_ratio": next(seq), "modes": modes, "class_hist": hist, "classifier_score": 9.5}
    return score


def tiny(preset="vanilla", **kw):
    return {"model": dict(TINY[preset]), "batch_size": 16} | kw


def test_a_trial_checks_on_its_schedule_and_at_its_end_and_logs_every_check(tmp_path, fake_digits):
    log = tmp_path / "trials.jsonl"
    said = []
    rows = run_trial("ema", "vanilla", tiny(ema=0.9), steps=7, check_every=3, data=fake_digits, log_path=log,
                     score=stand_in(50.0, 40.0, 30.0), say=said.append)
    assert [r["step"] for r in rows] == [3, 6, 7] and [r["fid_ratio"] for r in rows] == [50.0, 40.0, 30.0]
    assert [json.loads(line) for line in log.read_text().splitlines()] == rows
    assert rows[0]["changes"] == tiny(ema=0.9) and rows[0]["preset"] == "vanilla" and rows[0]["trial"] == "ema"
    assert len(said) == 3 and "step 7: FID 30.0x floor" in said[-1]


def test_a_trials_cpu_hours_leave_out_the_time_its_checks_take(tmp_path, fake_digits):
    rows = run_trial("t", "vanilla", tiny(), steps=4, check_every=2, data=fake_digits, log_path=tmp_path / "l.jsonl",
                     score=stand_in(9.0, 8.0, burn=0.5))
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[1]["cpu_hours"] * 3600 < 0.5                      # 1 s of scoring burned, not counted
    assert rows[1]["cpu_hours"] >= rows[0]["cpu_hours"] > 0


def test_an_aborted_trial_keeps_its_checks_and_skips_the_final_one(tmp_path, fake_digits):
    log, asked = tmp_path / "l.jsonl", []

    def abort():                                                   # stop between checks (after step 5)
        asked.append(1)
        return len(asked) > 5
    rows = run_trial("t", "vanilla", tiny(), steps=50, check_every=2, data=fake_digits, log_path=log,
                     score=stand_in(9.0, 8.0, 7.0), abort=abort)
    assert [r["step"] for r in rows] == [2, 4]                       # no check where the abort stopped it
    assert len(log.read_text().splitlines()) == 2


def test_a_trial_run_again_goes_on_from_its_last_check_exactly_as_one_straight_run(tmp_path, fake_digits):
    from gan.engine.checkpoint import read_tensors
    ckpt, log, said = tmp_path / "a" / "checkpoint.safetensors", tmp_path / "l.jsonl", []
    first = run_trial("t", "vanilla", tiny(ema=0.9), steps=4, check_every=2, data=fake_digits, log_path=log,
                      score=stand_in(9.0, 8.0), checkpoint=ckpt)
    more = run_trial("t", "vanilla", tiny(ema=0.9), steps=8, check_every=2, data=fake_digits, log_path=log,
                     score=stand_in(7.0, 6.0), checkpoint=ckpt, say=said.append)
    assert [r["step"] for r in first + more] == [2, 4, 6, 8] and said[0].startswith("t (vanilla): going on from step 4")
    assert more[0]["cpu_hours"] >= first[-1]["cpu_hours"] > 0          # the hours add up across the runs
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [2, 4, 6, 8]
    straight = tmp_path / "b" / "checkpoint.safetensors"
    run_trial("t", "vanilla", tiny(ema=0.9), steps=8, check_every=2, data=fake_digits, log_path=tmp_path / "m.jsonl",
              score=stand_in(1.0, 1.0, 1.0, 1.0), checkpoint=straight)
    ours, theirs = read_tensors(ckpt)[0], read_tensors(straight)[0]
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert run_trial("t", "vanilla", tiny(ema=0.9), steps=8, check_every=2, data=fake_digits, log_path=log,
                     score=stand_in(), checkpoint=ckpt, say=said.append) == []
    assert said[-1] == "t (vanilla) is already at step 8; ask for more --steps to go on"


def test_a_killed_trial_goes_on_from_its_last_check(tmp_path, fake_digits):
    ckpt, asked = tmp_path / "checkpoint.safetensors", []
    run_trial("t", "vanilla", tiny(), steps=50, check_every=2, data=fake_digits, log_path=tmp_path / "l.jsonl",
              score=stand_in(9.0, 8.0), checkpoint=ckpt, abort=lambda: bool(asked.append(1)) or len(asked) > 5)
    rows = run_trial("t", "vanilla", tiny(), steps=6, check_every=2, data=fake_digits, log_path=tmp_path / "l.jsonl",
                     score=stand_in(7.0), checkpoint=ckpt)
    assert [r["step"] for r in rows] == [6]                          # from step 4, the last check, not step 5


def test_the_same_trial_name_with_another_recipe_is_refused(tmp_path, fake_digits):
    ckpt = tmp_path / "checkpoint.safetensors"
    run_trial("t", "vanilla", tiny(), steps=2, check_every=2, data=fake_digits, log_path=tmp_path / "l.jsonl",
              score=stand_in(9.0), checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"trial 't' ran before with another recipe \(ema differ; .*another --name"):
        run_trial("t", "vanilla", tiny(ema=0.99), steps=4, check_every=2, data=fake_digits,
                  log_path=tmp_path / "l.jsonl", score=stand_in(8.0), checkpoint=ckpt)


def test_a_trial_trains_the_faithful_recipe_with_its_changes(tmp_path, fake_digits, monkeypatch):
    from gan.shipping import trials
    seen = []

    class Seen(Exception):
        pass

    def trainer(cfg, data):
        seen.append(cfg)
        raise Seen
    monkeypatch.setattr(trials, "Trainer", trainer)
    with pytest.raises(Seen):
        run_trial("g2", "dcgan", tiny("dcgan", g_steps=2), 10, 5, fake_digits, tmp_path / "l.jsonl")
    cfg = seen[0]
    assert cfg.g_steps == 2 and cfg.lr_g == 2e-4 and cfg.ema == 0.999 and cfg.model["ngf"] == TINY["dcgan"]["ngf"]
    assert (cfg.device, cfg.amp, cfg.compile, cfg.steps) == ("cpu", False, False, 10)


def _rows(preset, name, ratios, modes=10, changes=None):
    hist = [0.1] * 10 if modes == 10 else [0.5, 0.5] + [0.0] * 8
    return [{"trial": name, "preset": preset, "changes": changes or {}, "step": 1000 * (i + 1), "cpu_hours": 0.1 * (i + 1),
             "fid_ratio": r, "modes": modes, "class_hist": hist} for i, r in enumerate(ratios)]


def test_the_table_has_a_line_per_trial_with_its_curve_best_rarest_digit_and_goal(tmp_path):
    log = tmp_path / "l.jsonl"
    rows = _rows("vanilla", "faithful", [40.0, 12.0, 15.0]) + _rows("vanilla", "ema", [20.0, 6.5], changes={"ema": 0.999}) \
        + _rows("cs231n", "lsgan", [300.0], modes=2, changes={"loss": "lsgan", "model": {"x": [1]}})
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    trials = read_trials(log)
    assert list(trials) == [("vanilla", "faithful"), ("vanilla", "ema"), ("cs231n", "lsgan")]
    lines = trials_table(trials).splitlines()
    assert len(lines) == 5
    assert "| `vanilla` | faithful | none (faithful) | 3000 | 0.30 | 1k: 40, 2k: 12, 3k: 15 | **12.0x** (step 2000) | 10 |" \
        in lines[2] and lines[2].endswith("| short |")                   # 15x at the end: short of 7x
    assert "ema 0.999" in lines[3] and "**6.5x** (step 2000)" in lines[3] and lines[3].endswith("| met |")
    assert 'loss lsgan, model {"x": [1]}' in lines[4] and "| 2 | 2: 0.0% | short |" in lines[4]


def test_the_curve_names_each_checks_step_exactly():
    rows = [dict(r, step=s) for r, s in zip(_rows("keras-dcgan", "b64", [186.0, 132.0, 117.0, 90.0]), (300, 1000, 1200, 12500))]
    assert "| 300: 186, 1k: 132, 1.2k: 117, 12.5k: 90 |" in trials_table({("keras-dcgan", "b64"): rows})


def test_the_charts_are_one_per_preset(tmp_path):
    trials = {("vanilla", "a"): _rows("vanilla", "a", [40.0, 12.0]), ("vanilla", "b"): _rows("vanilla", "b", [30.0, 9.0]),
              ("dcgan", "a"): _rows("dcgan", "a", [80.0, 60.0])}
    pngs = draw_trials(trials, tmp_path / "trials")
    assert [p.name for p in pngs] == ["vanilla.png", "dcgan.png"]
    images = [Image.open(p).convert("RGB") for p in pngs]
    assert images[0].tobytes() != images[1].tobytes()
    from gan.shipping.campaign_chart import BOTTOM, GOAL_GREY, LEFT, RIGHT, TOP, H, W
    y = H - BOTTOM - (H - TOP - BOTTOM) * math.log10(7) / 2                   # vanilla's goal, 7x, on 1x .. 100x
    grey = ImageColor.getrgb(GOAL_GREY)
    dotted = [any(images[0].getpixel((x + 1, row)) == grey for row in (math.floor(y), math.ceil(y)))
              for x in range(LEFT, W - RIGHT, 8)]
    assert sum(dotted) > 60                                                   # one dotted line, in grey


def test_the_cli_logs_a_trials_changes_and_writes_the_table_between_the_cards_markers(tmp_path, fake_digits, monkeypatch):
    from gan.commands import main
    from gan.commands import trial as command
    from gan.shipping import trials
    monkeypatch.setattr(command, "load_mnist", lambda split, where: fake_digits)
    monkeypatch.setattr(trials, "evaluate", lambda model, n, pr: stand_in(25.0, 20.0)(model))
    niced = []
    monkeypatch.setattr(command, "become_idle", lambda level, idle_class, what: niced.append((level, idle_class)))
    log, card = tmp_path / "w" / "trials.jsonl", tmp_path / "w" / "README.md"
    argv = ["trial", "--preset", "vanilla", "--name", "g-first", "--steps", "4", "--check-every", "2", "--log", str(log),
            "--dir", str(tmp_path / "ckpt"),
            "--step-order", "g-first", "--batch-size", "16", "--model", json.dumps(TINY["vanilla"]), "--threads", "1"]
    assert main(argv + ["--nice", "7"]) == 0
    assert niced == [(7, False)]                                     # niced, not idle: it must finish
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[0]["changes"] == {"step_order": "g-first", "batch_size": 16, "model": TINY["vanilla"]}
    assert (tmp_path / "ckpt" / "vanilla" / "g-first" / "checkpoint.safetensors").is_file()     # to go on from
    card.write_text(f"# card\n{TRIALS_START}\nOLD TABLE\n{TRIALS_END}\nafter\n")
    assert main(["trial", "--table", "--log", str(log), "--card", str(card)]) == 0
    text = card.read_text()
    assert "OLD TABLE" not in text and "| `vanilla` | g-first | batch_size 16, step_order g-first, model {" in text
    assert text.startswith("# card\n") and text.endswith(f"{TRIALS_END}\nafter\n")
    assert (tmp_path / "w" / "trials" / "vanilla.png").is_file()


@pytest.mark.parametrize("argv, words", [(["trial", "--name", "x"], "needs --preset and --name"),
                                         (["trial", "--preset", "vanilla", "--name", "x", "--steps", "0"], "--steps"),
                                         (["trial", "--preset", "vanilla", "--name", "x", "--samples", "10"], "--samples"),
                                         (["trial", "--preset", "vanilla", "--name", "x", "--nice", "20"], "--nice"),
                                         (["trial", "--preset", "vanilla", "--name", "../x"], "--name must be 1-40")])
def test_the_cli_refuses_a_trial_it_cannot_run(argv, words, capsys, tmp_path):
    from gan.commands import main
    assert main(argv + ["--log", str(tmp_path / "l.jsonl")]) == 2
    assert words in capsys.readouterr().err


def test_the_table_needs_trials_and_a_card_with_markers(tmp_path, capsys):
    from gan.commands import main
    log, card = tmp_path / "l.jsonl", tmp_path / "README.md"
    assert main(["trial", "--table", "--log", str(log), "--card", str(card)]) == 2
    assert "no trials" in capsys.readouterr().err
    log.write_text(json.dumps(_rows("vanilla", "a", [9.0])[0]) + "\n")
    card.write_text("# a card without markers\n")
    assert main(["trial", "--table", "--log", str(log), "--card", str(card)]) == 2
    assert "trials-table:start" in capsys.readouterr().err and card.read_text() == "# a card without markers\n"
