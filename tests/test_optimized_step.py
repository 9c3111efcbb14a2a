"""The optimized step (torch.compile as on CUDA, bf16 autocast) computes what the plain eager fp32 step computes."""
import pytest
import torch

from gan.engine.trainer import Trainer
from tests.conftest import tiny_config


def _losses(cfg, data, steps=3):
    """(trainer, tensor (steps, 2) of D and G losses) after ``steps`` training steps."""
    t = Trainer(cfg, data)
    out = []
    for _ in range(steps):
        t.train_step()
        s = t.read_stats()
        out.append((s["d_loss"], s["g_loss"]))
    return t, torch.tensor(out)


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
