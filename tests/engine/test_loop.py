"""Tests of gan/engine/loop.py."""
import math
import threading
import time

import pytest
import torch

from gan.app.control import RunControl
from gan.engine.loop import train
from gan.engine.trainer import Trainer
from tests.helpers import tiny_config


def _weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def wait_for(condition, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds or ``timeout`` passes (a busy machine takes longer, never fails)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        threading.Event().wait(0.01)


def test_progress_reports_everything(fake_digits):
    seen = []
    cfg = tiny_config("dcgan", steps=36, log_every=8, sample_every=16)
    result = train(cfg, progress=seen.append, data=fake_digits)
    # the starting picture, early pictures at 1, 2, 5, 10, 20 steps, then on every multiple of log_every (an early
    # report does not shift the cadence), and the last one
    assert [p.step for p in seen] == [0, 1, 2, 5, 8, 10, 16, 20, 24, 32, 36]
    assert [p.samples is not None for p in seen] == [True] * 4 + [False] + [True] * 3 + [False, True, True]   # step % 16 < 8
    assert seen[0].stats == {} and seen[0].images_per_sec == 0
    seen = seen[1:]
    assert seen[-1].status == "finished" and result.status == "finished"
    for p in seen:
        assert set(p.stats) == {"d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"}
        assert p.images_per_sec > 0 and p.elapsed > 0 and 0 < p.epoch
        assert 0 <= p.stats["d_real"] <= 1 and 0 <= p.stats["d_fake"] <= 1
    assert seen[0].samples.shape == (302, 302)


def test_live_views_get_a_grid_every_sample_seconds(fake_digits):
    def grids(sample_seconds):
        seen = []
        cfg = tiny_config("dcgan", steps=48, log_every=2, sample_every=10**6, sample_seconds=sample_seconds)
        train(cfg, progress=seen.append, data=fake_digits)
        return [p.samples is not None for p in seen if 20 < p.step < 48]     # past the early pictures

    assert grids(1e-9) and all(grids(1e-9))          # every report is due a grid
    assert not any(grids(0.0))                       # off: only the sample_every schedule


def test_timed_grids_keep_their_cadence_when_steps_overshoot_it(fake_digits, monkeypatch):
    """Steps of 0.15 s against a 0.4 s cadence: a grid is due every 0.4 s of the clock, not 0.4 s
    after the step that drew the last one (which drifts to 0.45 s: 2.2 instead of 2.5 a second)."""
    import types

    from gan.engine import loop
    from gan.engine.trainer import Trainer
    clock = {"t": 0.0}
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock["t"]))
    cfg = tiny_config("vanilla", steps=320, log_every=1000, sample_every=10**6, sample_seconds=0.4)
    trainer = Trainer(cfg, fake_digits)
    step = trainer.train_step

    def slow_step():
        step()
        clock["t"] += 0.15
    trainer.train_step = slow_step
    seen = []
    train(cfg, trainer=trainer, progress=seen.append)
    grid_times = [round(p.step * 0.15, 2) for p in seen if p.samples is not None and 200 < p.step < 320]
    assert len(grid_times) == 44, grid_times           # 119 steps x 0.15 s = 17.85 s, a grid per 0.4 s (drifting: 39)


def test_abort_stops_promptly_and_keeps_the_model(fake_digits):
    calls = {"n": 0}

    def abort():
        calls["n"] += 1
        return calls["n"] > 3

    result = train(tiny_config("vanilla", steps=1000), abort=abort, data=fake_digits)
    assert result.status == "aborted" and result.trainer.step == 3
    assert all(torch.isfinite(p).all() for p in result.trainer.G.parameters())


def test_divergence_is_detected_and_last_good_weights_kept(fake_digits):
    cfg = tiny_config("dcgan", steps=20, log_every=2)
    trainer = Trainer(cfg, fake_digits)
    good = {}

    def progress(p):
        if p.step == 2:
            good.update(_weights(trainer.G))
        if p.step == 4 and p.status == "running":   # poison D: every later loss is NaN
            with torch.no_grad():
                next(trainer.D.parameters()).fill_(float("nan"))

    result = train(cfg, progress=progress, trainer=trainer)
    assert result.status == "diverged" and "step 2" in result.message
    assert _equal(_weights(trainer.G), good)
    assert trainer.weights_finite()


def test_checkpoint_round_trip_and_bit_exact_resume(tmp_path):
    # Adam + EMA, RMSprop + dropout, GP; 64-image batches of 200 images, so the checkpoint falls in
    # a later epoch and the resumed run must continue that epoch's permutation
    from tests.helpers import synthetic_digits
    digits = synthetic_digits(200, seed=0)
    for preset in ("dcgan", "keras-dcgan", "wgan-gp"):
        full = train(tiny_config(preset, steps=10, ema=0.9, batch_size=64), data=digits).trainer
        half = train(tiny_config(preset, steps=5, ema=0.9, batch_size=64), data=digits).trainer
        assert half.epochs_done >= 1 and half.epoch_pos > 0
        path = tmp_path / f"{preset}.safetensors"
        half.save(path)
        assert path.with_suffix(".json").is_file()
        resumed = train(tiny_config(preset, steps=10, ema=0.9, batch_size=64), data=digits, resume=path).trainer
        assert resumed.step == 10
        counters = ("d_step_count", "epoch_pos", "epochs_done")
        assert [getattr(resumed, k) for k in counters] == [getattr(full, k) for k in counters], preset
        for name in ("G", "D", "G_ema"):
            assert _equal(_weights(getattr(full, name)), _weights(getattr(resumed, name))), (preset, name)


def test_resume_refuses_a_generator_export(fake_digits, tmp_path):
    t = train(tiny_config("dcgan", steps=1), data=fake_digits).trainer
    t.export_generator(tmp_path / "g.safetensors")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        train(tiny_config("dcgan", steps=2), data=fake_digits, resume=tmp_path / "g.safetensors")


def test_periodic_checkpoints_are_written(fake_digits, tmp_path):
    cfg = tiny_config("vanilla", steps=4, log_every=2, checkpoint_every=2, out_dir=str(tmp_path))
    train(cfg, data=fake_digits)
    assert (tmp_path / "checkpoint.safetensors").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_run_control_pause_single_steps_and_lr(fake_digits):
    control = RunControl(poll=0.01)
    cfg = tiny_config("dcgan", steps=10**6, log_every=1)
    trainer = Trainer(cfg, fake_digits)
    seen = []
    control.pause()
    thread = threading.Thread(target=lambda: seen.append(train(cfg, trainer=trainer, control=control)))
    thread.start()
    try:                                  # a failed assertion stops the 10^6-step run at once, never hangs the suite
        control.request_step("d")
        control.request_step("g")
        control.set_lr(lr_g=1e-3)
        wait_for(lambda: trainer.d_step_count == 1 and trainer.step == 1)
        assert (trainer.d_step_count, trainer.step) == (1, 1)
        control.resume()
        wait_for(lambda: trainer.step >= 5)
    finally:
        control.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert seen[0].status == "aborted"
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_epochs_and_seconds_bound_the_run(fake_digits):
    r = train(tiny_config("vanilla", steps=None, epochs=1, batch_size=100), data=fake_digits)
    assert r.trainer.step == 6 and math.isclose(r.trainer.epoch, 1.0)
    r = train(tiny_config("vanilla", steps=None, seconds=0.3, log_every=5), data=fake_digits)
    assert r.status == "finished" and r.history[-1].elapsed < 2.0


def test_a_resumed_cs231n_run_does_not_pretrain_its_discriminator_again(fake_digits, tmp_path):
    """Bug: the D step count not restored from the checkpoint: the resumed run pre-trains D again."""
    t = train(tiny_config("cs231n", steps=3), data=fake_digits).trainer       # 2 pre-training D steps, then 3 steps
    t.save(tmp_path / "c.safetensors")
    again = train(tiny_config("cs231n", steps=4), data=fake_digits, resume=tmp_path / "c.safetensors").trainer
    assert again.d_step_count == t.d_step_count + 1 and again.step == 4
    fresh = Trainer(tiny_config("cs231n", steps=4), fake_digits)
    assert fresh.d_step_count == 0                                  # (what a resume must not start from)


def test_rolling_back_restores_the_ema_too(fake_digits):
    """Trainer.restore (the loop's roll-back after a non-finite step) brings back G, D and G's EMA."""
    t = train(tiny_config("dcgan", steps=2, ema=0.9), data=fake_digits).trainer
    snap = t.snapshot()
    t.train_step()
    t.restore(snap)
    for name in ("G", "D", "G_ema"):
        assert all(torch.equal(v, snap[name][k]) for k, v in getattr(t, name).state_dict().items()), name
