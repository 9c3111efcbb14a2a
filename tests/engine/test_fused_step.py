"""The fused training step (captured in a CUDA graph on a GPU) computes what the eager step
computes. On a CPU its body runs uncaptured, which is what these tests drive; the capture
itself is covered by the GPU tests (``-m gpu``) and ``python -m gan gpu-suite``."""
import pytest
import torch

from gan.engine.trainer import Trainer
from tests.helpers import tiny_config


def _feed(trainer, batches):
    """Make the eager trainer draw exactly ``batches`` [(x, y, z), ...] in order."""
    it = iter(batches)
    state = {}

    def next_batch():
        state["x"], y, state["z"] = next(it)
        return state["x"], y

    trainer.next_batch = next_batch
    trainer.sample_z = lambda n: state["z"]


@pytest.mark.parametrize("preset, extra", [("dcgan", {}), ("cgan", {}), ("vanilla", {"d_steps": 2, "step_order": "d-first"}),
                                           ("cs231n", {"clip_grad": 1.0, "d_pretrain_steps": 0})])
def test_fused_step_matches_the_eager_step(fake_digits, preset, extra):
    cfg = dict(seed=5, amp=False, batch_size=16, ema=0.99) | extra
    eager = Trainer(tiny_config(preset, **cfg), fake_digits)
    fused = Trainer(tiny_config(preset, cuda_graph=True, **cfg), fake_digits)
    fused.load_state(*eager.state_tensors())                       # identical start
    assert fused.step_mode == "fused" and eager.step_mode == "eager"
    gen = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(4 * fused.cfg.d_steps):
        idx = torch.randint(0, len(fake_digits), (16,), generator=gen)
        x, _ = fused.next_batch()                                  # the right range and layout
        from gan.engine.pixels import from_pixels
        x = from_pixels(fake_digits.images[idx], fused.mcfg.output)
        y = fake_digits.labels[idx] if fused.conditional else None
        batches.append((x, y, torch.randn(16, fused.mcfg.z_dim, generator=gen)))
    _feed(eager, list(batches))
    it = iter(batches)
    fused.fused._batch = lambda: next(it)
    for _ in range(4):
        eager.train_step()
        fused.train_step()
    for name, a, b in (("G", eager.G, fused.G), ("D", eager.D, fused.D), ("G_ema", eager.G_ema, fused.G_ema)):
        for (k, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.allclose(pa, pb, rtol=1e-5, atol=1e-6), (name, k)
    se, sf = eager.read_stats(), fused.read_stats()
    assert all(abs(se[k] - sf[k]) <= 1e-5 * max(1, abs(se[k])) for k in se), (se, sf)
    assert fused.step == eager.step == 4 and fused.d_step_count == eager.d_step_count


def test_fused_step_trains_every_loss_and_takes_new_learning_rates(fake_digits):
    for preset in ("wgan-gp", "cs231n", "one-digit"):
        t = Trainer(tiny_config(preset, cuda_graph=True, amp=False, d_pretrain_steps=0), fake_digits)
        before = [p.detach().clone() for p in t.G.parameters()]
        for _ in range(3):
            t.train_step()
        s = t.read_stats()
        assert all(v is not None and v == v for v in s.values()), (preset, s)
        assert any(not torch.equal(a, b) for a, b in zip(before, t.G.parameters())), preset
        t.set_lr(lr_g=3e-3, lr_d=4e-3)
        assert t.lr == pytest.approx((3e-3, 4e-3))
        lr_tensor = t.opt_g.param_groups[0]["lr"]
        assert isinstance(lr_tensor, torch.Tensor) and float(lr_tensor) == pytest.approx(3e-3)  # changed in place


def test_a_broken_fused_step_falls_back_and_says_why(fake_digits):
    t = Trainer(tiny_config("dcgan", cuda_graph=True, amp=False), fake_digits)

    def broken():
        raise RuntimeError("operation not permitted when stream is capturing")

    t.fused.step = broken
    t.train_step()                                               # the run goes on, eagerly
    assert t.fused is None and t.step == 1 and t.step_mode == "eager"
    assert "CUDA-graph step failed (RuntimeError: operation not permitted" in t.step_note


@pytest.mark.gpu
@pytest.mark.parametrize("preset", ["dcgan", "cgan", "wgan-gp", "keras-dcgan", "cs231n", "vanilla", "one-digit"])
def test_graph_replay_trains_like_the_eager_step_on_cuda(preset, fake_digits):
    """Captured and replayed on a GPU: same losses' trend as eager within bf16 noise, pause-free."""
    eager = Trainer(tiny_config(preset, device="cuda", cuda_graph=False, compile=False, d_pretrain_steps=0), fake_digits)
    graph = Trainer(tiny_config(preset, device="cuda", cuda_graph=True, compile=False, d_pretrain_steps=0), fake_digits)
    for _ in range(20):
        eager.train_step()
        graph.train_step()
    assert graph.step_mode == "graph", graph.step_note
    se, sg = eager.read_stats(), graph.read_stats()
    assert all(torch.isfinite(torch.tensor(v)) for v in sg.values())
    assert abs(se["d_loss"] - sg["d_loss"]) < 0.5 * max(1.0, abs(se["d_loss"])), (se, sg)
    graph.set_lr(lr_g=1e-3)
    graph.train_step()
    assert graph.lr[0] == pytest.approx(1e-3)
