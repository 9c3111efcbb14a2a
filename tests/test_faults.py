"""Faults injected on purpose: out-of-memory and NaN mid-run, a writer killed mid-checkpoint,
a training process killed and resumed. Nothing half-written, nothing lost beyond the last save."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gan.app import limits as app_limits
from gan.app import runs
from gan.engine.checkpoint import read_tensors, save_tensors
from gan.engine.trainer import Trainer
from tests.helpers import ROOT, draw, tiny_config


def _inject(monkeypatch, seed: int, at_step: int, fault):
    """Make runs with ``seed`` hit ``fault(trainer)`` once they reach ``at_step``; others are untouched."""
    real = Trainer.train_step

    def step(self):
        if self.cfg.seed == seed and self.step >= at_step:
            fault(self)
        return real(self)
    monkeypatch.setattr(Trainer, "train_step", step)


def _oom(trainer):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def _poison(trainer):
    with torch.no_grad():
        next(trainer.D.parameters()).fill_(float("nan"))


def test_out_of_memory_mid_run_frees_the_slot_and_spares_other_runs(monkeypatch, fake_digits):
    _inject(monkeypatch, seed=1, at_step=6, fault=_oom)
    store = runs.SessionStore(app_limits.Limits(2, 60, 100, 20, 3))
    a, b = store.get("a"), store.get("b")
    run_a, ta = runs.start_run(a, tiny_config("dcgan", steps=10**6, seed=1, log_every=2), fake_digits)
    run_b, tb = runs.start_run(b, tiny_config("dcgan", steps=40, seed=2, log_every=2), fake_digits)
    ta.join(300), tb.join(300)                                  # events, not a clock: generous on a busy machine
    assert not ta.is_alive() and not tb.is_alive()
    assert run_a.status == "out of memory" and "smaller batch" in run_a.message and "step 6" in run_a.message
    assert a.active() is None                                   # the visitor can start again
    assert run_a.model is not None and np.isfinite(run_a.model.sample(0, 4)).all()   # kept weights work
    assert run_b.status == "finished" and run_b.step == 40       # the other visitor never noticed


def test_nan_mid_run_is_reported_and_the_last_good_weights_stay_usable(monkeypatch, fake_digits):
    _inject(monkeypatch, seed=3, at_step=8, fault=_poison)
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 3))
    run, thread = runs.start_run(session, tiny_config("dcgan", steps=10**6, seed=3, log_every=2), fake_digits)
    thread.join(300)
    assert not thread.is_alive()
    assert run.status == "diverged" and "kept the last good weights" in run.message
    assert run.explorer is not None and session.active() is None
    grid = draw(run.explorer, 1, 8, [0.5] * 8)
    assert grid.std() > 0                                        # real digits-ish, not a NaN-black image
    assert all(torch.isfinite(p).all() for p in run.model.G.parameters())


def test_a_failed_write_leaves_the_previous_checkpoint_intact(monkeypatch, tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    save_tensors(path, {"w": torch.ones(3)}, {"step": 1})

    def disk_full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_tensors(path, {"w": torch.zeros(1000)}, {"step": 2})
    tensors, meta = read_tensors(path)
    assert meta["step"] == 1 and torch.equal(tensors["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]     # no temp file left


WRITER = """
import sys, torch
from gan.engine.checkpoint import save_tensors
i = 0
while True:
    i += 1
    save_tensors(sys.argv[1], {"w": torch.full((4_000_000,), float(i))}, {"step": i})
    print(i, flush=True)
"""


def test_killing_the_writer_never_leaves_a_half_written_file(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    for delay in (0.5, 0.9, 1.3):          # kill at different moments of the write cycle
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline()       # at least one complete save
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        tensors, meta = read_tensors(path)      # always the last complete save, never a torn one
        assert tensors["w"].shape == (4_000_000,) and bool((tensors["w"] == meta["step"]).all())
    save_tensors(path, {"w": torch.ones(1)}, {"step": 0})      # the next save sweeps killed writers' temp files
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path, mnist_dir):
    out = tmp_path / "run"
    base = [sys.executable, "-m", "gan", "train", "--preset", "vanilla", "--device", "cpu", "--data", str(mnist_dir),
            "--model", '{"hidden": [16, 32, 32, 64], "d_hidden": [32, 16], "z_dim": 16}', "--batch-size", "32",
            "--steps", "100000", "--log-every", "10", "--checkpoint-every", "50", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(base, cwd=ROOT)
    ckpt = out / "checkpoint.safetensors"
    try:
        t0 = time.time()
        while time.time() - t0 < 60:
            if ckpt.exists() and read_tensors(ckpt)[1]["step"] >= 100:
                break
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved_step = read_tensors(ckpt)[1]["step"]
    assert saved_step >= 100 and saved_step % 50 == 0
    end = saved_step + 30
    resumed = subprocess.run(base[:base.index("--steps")] + ["--steps", str(end), "--log-every", "10", "--out",
                             str(out), "--quiet", "--resume", str(ckpt)], cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert read_tensors(ckpt)[1]["step"] == end


def test_stale_temp_files_do_not_accumulate(tmp_path):
    path = tmp_path / "g.safetensors"
    stale = tmp_path / ".g.safetensors.abc123.tmp"
    stale.write_bytes(b"half")
    Path(tmp_path / "other.txt").write_text("keep me")
    save_tensors(path, {"w": torch.ones(1)}, {})
    assert not stale.exists() and (tmp_path / "other.txt").exists()
