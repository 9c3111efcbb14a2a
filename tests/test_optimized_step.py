"""The optimized step (torch.compile, as on CUDA) computes what the plain eager step computes."""
import pytest
import torch

from gan.training import Trainer
from tests.conftest import tiny_config


@pytest.mark.slow
def test_compiled_step_matches_eager_losses(fake_digits):
    stats = {}
    for compiled in (False, True):
        t = Trainer(tiny_config("dcgan", seed=3, compile=compiled), fake_digits)
        assert (t.G_fwd is not t.G) == compiled
        losses = []
        for _ in range(3):
            t.train_step()
            s = t.read_stats()
            losses.append((s["d_loss"], s["g_loss"]))
        stats[compiled] = torch.tensor(losses)
    assert torch.allclose(stats[False], stats[True], rtol=1e-3, atol=1e-4), stats
