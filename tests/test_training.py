import math
import threading
import time

import pytest
import torch

from gan.app.control import RunControl
from gan.engine.config import TrainConfig
from gan.engine.loop import train
from gan.engine.trainer import Trainer
from tests.conftest import registered_loss, tiny_config


def _weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_progress_reports_everything(fake_digits):
    seen = []
    cfg = tiny_config("dcgan", steps=36, log_every=8, sample_every=16)
    result = train(cfg, progress=seen.append, data=fake_digits)
    # the starting picture, early pictures at 1, 2, 5, 10, 20 steps, then every log_every steps
    assert [p.step for p in seen] == [0, 1, 2, 5, 10, 18, 20, 28, 36, 36]
    assert [p.samples is not None for p in seen] == [True] * 7 + [False, True, True]   # 18, 36: step % 16 < 8
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


def test_same_seed_same_weights(fake_digits):
    a = train(tiny_config("dcgan", steps=4, seed=7), data=fake_digits).trainer
    b = train(tiny_config("dcgan", steps=4, seed=7), data=fake_digits).trainer
    c = train(tiny_config("dcgan", steps=4, seed=8), data=fake_digits).trainer
    assert _equal(_weights(a.G), _weights(b.G))
    assert not _equal(_weights(a.G), _weights(c.G))


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
    from tests.fake_mnist import synthetic_digits
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


def wait_for(condition, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds or ``timeout`` passes (a busy machine takes longer, never fails)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        threading.Event().wait(0.01)


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


def test_config_validation_messages():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig.for_preset("dcgan", steps=1, batch_size=0)
    with pytest.raises(ValueError, match="lr_g"):
        TrainConfig.for_preset("dcgan", steps=1, lr_g=float("nan"))
    with pytest.raises(ValueError, match="length"):
        TrainConfig.for_preset("dcgan")
    with pytest.raises(ValueError, match="digits"):
        TrainConfig.for_preset("dcgan", steps=1, digits=(11,))
    with pytest.raises(ValueError, match="no field"):
        TrainConfig.for_preset("dcgan", steps=1, model={"depth": 3})
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.for_preset("dcgan", steps=1, learning_rate=3)
    with pytest.raises(ValueError, match="batch_size 512 is larger"):
        Trainer(TrainConfig.for_preset("one-digit", steps=1, batch_size=512, digits=(1,), device="cpu"),
                __import__("tests.fake_mnist").fake_mnist.synthetic_digits(200))


def test_epochs_and_seconds_bound_the_run(fake_digits):
    r = train(tiny_config("vanilla", steps=None, epochs=1, batch_size=100), data=fake_digits)
    assert r.trainer.step == 6 and math.isclose(r.trainer.epoch, 1.0)
    r = train(tiny_config("vanilla", steps=None, seconds=0.3, log_every=5), data=fake_digits)
    assert r.status == "finished" and r.history[-1].elapsed < 2.0


@pytest.mark.parametrize("d_steps, g_forwards", [(1, 1), (3, 3)])
def test_the_g_step_reuses_the_last_d_step_fakes(fake_digits, d_steps, g_forwards):
    trainer = Trainer(tiny_config("dcgan", d_steps=d_steps), fake_digits)
    calls = []
    trainer.G.register_forward_hook(lambda *a: calls.append(1))
    trainer.train_step()
    assert len(calls) == g_forwards and trainer.step == 1 and trainer.d_step_count == d_steps
    assert all(p.grad is not None for p in trainer.G.parameters())            # G still learned from them


def test_runs_trained_at_once_in_threads_equal_the_same_runs_one_after_another(fake_digits):
    """The app trains several runs in threads of one process: each must be what its seed makes alone
    (initial weights drawn one run at a time; noise and batches from each run's own generator).
    In fp32: CPU bf16 kernels running at the same time in two threads differ in the last bits."""
    from concurrent.futures import ThreadPoolExecutor
    cfgs = [tiny_config(p, steps=15, seed=s, amp=False) for p, s in (("dcgan", 1), ("vanilla", 2), ("wgan-gp", 3),
                                                                       ("cgan", 4))]
    alone = [train(c, data=fake_digits).trainer for c in cfgs]
    with ThreadPoolExecutor(len(cfgs)) as pool:
        together = list(pool.map(lambda c: train(c, data=fake_digits).trainer, cfgs))
    for a, b in zip(alone, together):
        assert _equal(_weights(a.G), _weights(b.G)) and _equal(_weights(a.D), _weights(b.D)), a.cfg.preset


def test_a_learning_rate_change_outside_its_range_is_refused(fake_digits):
    """Trainer.set_lr (the app's live learning-rate sliders): [1e-7, 1] and finite, else refused, unchanged."""
    from gan.engine.trainer import Trainer
    t = Trainer(tiny_config("dcgan"), fake_digits)
    t.set_lr(lr_g=1.0, lr_d=1e-7)
    assert t.lr == (1.0, 1e-7)
    for bad in (2.0, 5, 0.0, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match=r"^lr_g\b.*must be"):
            t.set_lr(lr_g=bad)
    assert t.lr == (1.0, 1e-7)


def _d_loss_of_one(real, fake, real_target=1.0):
    """A D loss of exactly 1 that still depends on both halves (so the engine's graph is whole)."""
    return 0 * (real.float().mean() + fake.float().mean()) + 1.0


def test_d_statistics_average_over_d_steps_and_g_statistics_over_g_steps(fake_digits):
    """With three D steps per G step, a step reports D's loss as the mean of its three and G's
    loss and gradient norm as they were (not divided by three). A registered loss with known
    values: D's is 1, G's is 2 with the gradient of mean(D(G(z)))."""
    with registered_loss("test-known-values", _d_loss_of_one,
                         lambda fake: fake.float().mean() - fake.float().mean().detach() + 2.0) as rec:
        t = Trainer(tiny_config("dcgan", loss=rec.name, d_steps=3, amp=False), fake_digits)
        t.train_step()
        stats = t.read_stats()
        g_grad_norm = torch.cat([p.grad.flatten() for p in t.G.parameters() if p.grad is not None]).norm().item()
        assert stats["d_loss"] == pytest.approx(1.0) and stats["g_loss"] == pytest.approx(2.0)
        assert g_grad_norm > 0 and stats["grad_norm_g"] == pytest.approx(g_grad_norm, rel=1e-4)
        assert 0 < stats["d_real"] < 1 and 0 < stats["d_fake"] < 1         # D's sigmoid of each half, each recorded
        assert t.step_note == ""                                           # nothing to explain on a plain CPU run


def test_the_penalty_is_added_times_its_weight_and_skipped_at_weight_zero(fake_digits):
    from gan.engine import losses
    calls = []

    def half(critic, real, fake, labels=None, generator=None):
        calls.append(labels)
        return (real.float() * 0).sum() + 0.5

    with registered_loss("test-known-penalty", _d_loss_of_one, losses.wasserstein_g_loss, penalty=half) as rec:
        for weight, d_loss, n_calls in ((4.0, 3.0, 1), (0.0, 1.0, 0)):
            calls.clear()
            t = Trainer(tiny_config("dcgan", loss=rec.name, gp_weight=weight, amp=False), fake_digits)
            t.train_step()
            assert t.read_stats()["d_loss"] == pytest.approx(d_loss) and len(calls) == n_calls, weight
        calls.clear()
        t = Trainer(tiny_config("cgan", loss=rec.name, gp_weight=1.0, amp=False), fake_digits)
        t.train_step()
        assert len(calls) == 1 and calls[0].shape == (t.cfg.batch_size,)    # a conditional critic's penalty sees the labels


def test_a_learning_rate_held_as_a_tensor_changes_in_place(fake_digits):
    """A CUDA-graph step keeps lr as a tensor that the captured graph reads: set_lr must write into
    that tensor (a new value or a new object would be invisible to the graph)."""
    t = Trainer(tiny_config("dcgan"), fake_digits)
    held = {}
    for name, opt in (("g", t.opt_g), ("d", t.opt_d)):
        for group in opt.param_groups:
            group["lr"] = held[name] = torch.tensor(1e-3)
    t.set_lr(lr_g=2e-4, lr_d=4e-4)
    assert all(g["lr"] is held["g"] for g in t.opt_g.param_groups) and all(g["lr"] is held["d"] for g in t.opt_d.param_groups)
    assert held["g"].item() == pytest.approx(2e-4) and held["d"].item() == pytest.approx(4e-4)
    assert t.lr == pytest.approx((2e-4, 4e-4)) and (t.cfg.lr_g, t.cfg.lr_d) == pytest.approx((2e-4, 4e-4))


def test_rmsprop_keeps_the_keras_defaults_and_a_missing_gpu_is_named():
    """keras-dcgan's RMSprop is Keras's (rho 0.9, epsilon 1e-7), not PyTorch's (0.99, 1e-8)."""
    from gan.engine.device import resolve_device
    from gan.engine.optim import make_optimizer
    net = torch.nn.Linear(2, 2)
    opt = make_optimizer(TrainConfig.for_preset("keras-dcgan", steps=1, optimizer="rmsprop"), net, 1e-3)
    assert isinstance(opt, torch.optim.RMSprop) and (opt.defaults["alpha"], opt.defaults["eps"]) == (0.9, 1e-7)
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:0"):
            with pytest.raises(ValueError, match="no CUDA GPU is available"):
                resolve_device(name)


@pytest.mark.parametrize("preset", ["cgan", "dcgan"])
def test_a_g_only_step_draws_its_own_batch_with_labels_for_a_conditional_model(preset, fake_digits):
    """The app's "step G" button: one generator step on fresh latents, a batch of digits 0-9 for a
    conditional model (none for an unconditional one)."""
    t = Trainer(tiny_config(preset, amp=False), fake_digits)
    seen, forward = [], t.G_fwd
    t.G_fwd = lambda z, y=None: seen.append((z.shape[0], y)) or forward(z, y)
    before = _weights(t.G)
    for _ in range(20):
        t.g_step()
    assert t.step == 20 and not _equal(before, _weights(t.G))
    assert [n for n, _ in seen] == [t.cfg.batch_size] * 20
    if preset == "cgan":
        labels = torch.cat([y for _, y in seen])
        assert labels.dtype == torch.long and set(labels.tolist()) == set(range(10))     # every digit, none else
    else:
        assert all(y is None for _, y in seen)
