"""Tests of gan/engine/trainer.py."""
import threading
import time

import pytest
import torch

from gan.engine.config import TrainConfig
from gan.engine.loop import train
from gan.engine.trainer import Trainer
from tests.helpers import TINY, registered_loss, tiny_config


def _weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights(fake_digits):
    a = train(tiny_config("dcgan", steps=4, seed=7), data=fake_digits).trainer
    b = train(tiny_config("dcgan", steps=4, seed=7), data=fake_digits).trainer
    c = train(tiny_config("dcgan", steps=4, seed=8), data=fake_digits).trainer
    assert _equal(_weights(a.G), _weights(b.G))
    assert not _equal(_weights(a.G), _weights(c.G))


def wait_for(condition, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds or ``timeout`` passes (a busy machine takes longer, never fails)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        threading.Event().wait(0.01)


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
    opt = make_optimizer(TrainConfig.for_preset("keras-dcgan", steps=1, optimizer="rmsprop"), net.parameters(), 1e-3)
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


def _params(net) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def _moved(before: dict, net) -> bool:
    return any(not torch.equal(before[k], v) for k, v in net.named_parameters())


def _losses(cfg, data, steps=3):
    """(trainer, tensor (steps, 2) of D and G losses) after ``steps`` training steps."""
    t = Trainer(cfg, data)
    out = []
    for _ in range(steps):
        t.train_step()
        s = t.read_stats()
        out.append((s["d_loss"], s["g_loss"]))
    return t, torch.tensor(out)


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


@pytest.mark.slow
def test_compiled_step_matches_eager_losses(fake_digits):
    eager, compiled = (_losses(tiny_config("dcgan", seed=3, compile=c), fake_digits) for c in (False, True))
    assert eager[0].G_fwd is eager[0].G and compiled[0].G_fwd is not compiled[0].G
    assert torch.allclose(eager[1], compiled[1], rtol=1e-3, atol=1e-4), (eager[1], compiled[1])


def test_bf16_autocast_step_matches_fp32_losses(fake_digits):
    _, fp32 = _losses(tiny_config("cgan", seed=3, amp=False), fake_digits)
    t, bf16 = _losses(tiny_config("cgan", seed=3, amp=True), fake_digits)
    assert t.amp and all(p.dtype == torch.float32 for p in t.G.parameters())   # fp32 master weights
    assert not torch.equal(fp32, bf16)                                       # it did run in bf16
    assert torch.allclose(fp32, bf16, rtol=3e-2, atol=3e-3), (fp32, bf16)


@pytest.mark.parametrize("native", [True, False])
def test_amp_default_follows_the_cpu(fake_digits, monkeypatch, native):
    import gan.engine.trainer
    monkeypatch.setattr(gan.engine.trainer, "cpu_has_native_bf16", lambda: native)
    assert Trainer(tiny_config("dcgan"), fake_digits).amp is native
    assert Trainer(tiny_config("dcgan", amp=not native), fake_digits).amp is (not native)


@pytest.mark.parametrize("std", [0.0, 0.4])
def test_instance_noise_reaches_every_image_d_sees_and_nothing_else(fake_digits, std):
    """D's inputs in both steps carry noise of the run's std (none at 0); G's own output does not."""
    from gan.engine.pixels import from_pixels
    t = Trainer(tiny_config("vanilla", steps=1, amp=False, instance_noise=std), fake_digits)
    seen = []
    t.D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    idx = t.perm[:t.cfg.batch_size].clone()                         # the first D step's batch
    t.g_step(*t.d_step(keep_fake=True))
    clean = from_pixels(t.data.images[idx], t.mcfg.output).reshape(seen[0].shape)
    noise = seen[0] - clean                                           # D step: the real batch
    assert len(seen) == 3                                             # real, fake (D step), fake (G step)
    assert noise.std().item() == pytest.approx(std, abs=0.03)
    assert (seen[1] - seen[2]).std().item() == pytest.approx(std * 2 ** 0.5, abs=0.04)   # fresh noise each time
