"""Tests of gan/app/runs.py."""
import time

import numpy as np
import pytest

from gan.app import charts, pictures, runs
from gan.app import limits as app_limits
from gan.evaluation import evaluate
from tests.helpers import draw, tiny_config


def test_live_run_streams_stops_and_becomes_a_model(fake_digits):
    limits = app_limits.Limits(1, 60, 100, 20, 2)
    session = runs.Session(limits)
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=10**6, log_every=2, sample_every=4), fake_digits)
    t0 = time.time()
    while len(run.history) < 6 and time.time() - t0 < 30:   # step 0 (the first picture) has no losses
        time.sleep(0.02)
    assert run.status == "running" and run.grid is not None
    frame = charts.loss_frame([run])
    assert set(frame["series"]) == {"d_loss", "g_loss"} and len(frame) >= 10
    run.control.stop()
    thread.join(10)
    assert run.done.is_set() and run.status == "aborted"
    assert run.model is not None and run.explorer is not None and run.discriminator is not None
    assert draw(run.explorer, 1, 4).shape == (32, 4 * 30 + 2)
    res = pictures.probe(run.model.sample(0, 1)[0], run.discriminator)
    assert 0 <= res["real_score"] <= 1


def test_runs_per_session_cap_and_isolation(fake_digits):
    limits = app_limits.Limits(1, 60, 100, 20, 1)
    store = runs.SessionStore(limits)
    a, b = store.get("a"), store.get("b")
    run, thread = runs.start_run(a, tiny_config("vanilla", steps=10**6), fake_digits)
    with pytest.raises(ValueError, match="at most 1 run"):
        runs.start_run(a, tiny_config("vanilla", steps=5), fake_digits)
    assert b.runs == {} and b.active() is None and a.active() is run
    store.drop("a")                                   # the tab closed: its run stops
    thread.join(10)
    assert run.status == "aborted" and len(store) == 1


def test_a_failing_run_reports_instead_of_crashing(fake_digits):
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    cfg = tiny_config("one-digit", steps=5, batch_size=500, digits=(3,))      # 60 images of digit 3 < batch
    run, thread = runs.start_run(session, cfg, fake_digits)
    thread.join(10)
    assert run.status == "failed" and "batch_size" in run.message


def test_app_recipe_is_lighter_on_a_cpu():
    cpu, gpu = runs.app_recipe("cgan", gpu=False), runs.app_recipe("cgan", gpu=True)
    assert cpu.model == {"ngf": 32, "ndf": 32} and cpu.lr_g == cpu.lr_d == 1e-3 and (cpu.ema, cpu.batch_size) == (0.995, 64)
    assert gpu.model == {} and gpu.lr_g == 2e-4 and gpu.ema == 0.999          # the preset's own recipe
    assert runs.app_recipe("vanilla", gpu=False) == runs.app_recipe("vanilla", gpu=True)


def test_a_finished_run_downloads_as_a_generator_file(fake_digits, tmp_path):
    from gan.inference.sampling import load_generator
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    run, thread = runs.start_run(session, tiny_config("cgan", steps=6), fake_digits)
    thread.join(30)
    path = runs.export_run(run, tmp_path)
    assert path.name.startswith("run_1__cgan_") and runs.export_run(run, tmp_path) == path
    loaded = load_generator(path)
    assert loaded.preset == "cgan" and np.array_equal(loaded.sample(3, 10, 4), run.model.sample(3, 10, 4))


def test_a_run_frees_its_trainer_and_hands_the_pages_back_when_it_ends(fake_digits, monkeypatch):
    import weakref
    alive, calls = [], []

    class Tracked(runs.Trainer):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            alive.append(weakref.ref(self))

    monkeypatch.setattr(runs, "Trainer", Tracked)
    monkeypatch.setattr(runs, "release_free_memory", lambda: calls.append([r() is not None for r in alive]))
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=3), fake_digits)
    thread.join(30)
    assert run.status == "finished" and run.model is not None       # the sampling copy stays
    assert calls == [[False]]                                      # once, the trainer already gone


def test_the_final_quality_check_describes_the_finished_model(fake_digits, monkeypatch):
    checked = []
    monkeypatch.setattr(evaluate, "quick_quality", lambda model, n=500, seed=4242: checked.append(model) or
                        {"fid_ratio": 9.0, "modes": 10, "class_hist": [0.1] * 10})
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=7), fake_digits, quality_every=5)
    thread.join(30)
    assert [q["step"] for q in run.quality] == [5, 7] and run.status == "finished"
