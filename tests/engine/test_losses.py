"""Tests of gan/engine/losses.py."""
import math

import pytest
import torch

from gan.engine import losses
from tests.helpers import registered_loss


def test_bce_losses_match_closed_form():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.0])
    sp = torch.nn.functional.softplus
    expected = sp(-real).mean() + sp(fake).mean()
    assert losses.bce_d_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.non_saturating_g_loss(fake).item() == pytest.approx(sp(-fake).mean().item(), rel=1e-6)
    assert losses.minimax_g_loss(fake).item() == pytest.approx(-sp(fake).mean().item(), rel=1e-6)


def test_label_smoothing_changes_the_real_target():
    real, fake = torch.zeros(4), torch.zeros(4)
    assert losses.bce_d_loss(real, fake, 0.9).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    big = torch.full((4,), 10.0)
    assert losses.bce_d_loss(big, fake, 0.9).item() > losses.bce_d_loss(big, fake, 1.0).item()


def test_lsgan_hinge_wasserstein():
    r, f = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.5])
    assert losses.lsgan_d_loss(r, f).item() == pytest.approx(0.5 * 0.125 + 0.5 * 0.125)
    assert losses.lsgan_g_loss(torch.ones(3)).item() == 0
    assert losses.hinge_d_loss(torch.full((2,), 2.0), torch.full((2,), -2.0)).item() == 0
    assert losses.hinge_d_loss(torch.zeros(2), torch.zeros(2)).item() == 2
    assert losses.wasserstein_d_loss(r, f).item() == pytest.approx(f.mean().item() - r.mean().item())
    assert losses.wasserstein_g_loss(f).item() == pytest.approx(-0.25)


def test_gradient_penalty_of_a_linear_critic():
    w = torch.randn(1, 1, 28, 28)

    def critic(x, y=None):
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    expected = (w.norm() - 1) ** 2          # the gradient of a linear critic is w everywhere
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx(expected.item(), rel=1e-4)


@pytest.mark.parametrize("name", losses.LOSSES)
def test_every_loss_has_both_halves_and_gives_gradients(name):
    real = torch.randn(5, requires_grad=True)
    fake = (torch.rand(5) * 0.8 + 0.1).requires_grad_(True)   # scores where every game disagrees
    d = losses.LOSSES[name].d_loss(real, fake)
    g = losses.LOSSES[name].g_loss(fake)
    d_real, d_fake = torch.autograd.grad(d, (real, fake))
    (g_fake,) = torch.autograd.grad(g, fake)
    assert torch.isfinite(d) and torch.isfinite(g)
    assert d_real.abs().sum() > 0 and d_fake.abs().sum() > 0 and g_fake.abs().sum() > 0
    # D pushes fake scores down, G pushes them up
    assert (d_fake * g_fake).sum() < 0


def test_the_engine_reads_the_loss_record_not_its_name(fake_digits):
    """A newly registered loss with a penalty trains without any engine edit, and the penalty
    is applied (its calls are counted)."""
    from gan.engine.config import TrainConfig
    from gan.engine.trainer import Trainer
    from tests.helpers import TINY
    calls = []

    def counting_penalty(critic, real, fake, labels=None, generator=None):
        calls.append(real.shape[0])
        return losses.gradient_penalty(critic, real, fake, labels, generator)

    with registered_loss("test-hinge-gp", losses.hinge_d_loss, losses.hinge_g_loss, penalty=counting_penalty) as rec:
        cfg = TrainConfig.for_preset("dcgan", loss=rec.name, steps=2, batch_size=16, device="cpu",
                                     model=TINY["dcgan"], amp=False)
        t = Trainer(cfg, fake_digits)
        t.train_step()
        assert calls == [16]
        assert t.read_stats()["d_loss"] is not None
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.get_loss(rec.name)


def test_lsgan_g_loss_is_half_the_mean_squared_distance_to_one():
    f = torch.tensor([0.0, 2.0, 1.5, -1.0])
    assert losses.lsgan_g_loss(f).item() == pytest.approx(0.5 * ((f - 1) ** 2).mean().item())


def test_each_loss_reads_d_as_a_probability_for_the_plots():
    x = torch.tensor([-3.0, 0.25, 0.5, 4.0])
    assert torch.equal(losses.d_probability(x, "lsgan"), torch.tensor([0.0, 0.25, 0.5, 1.0]))     # clamped
    torch.testing.assert_close(losses.d_probability(x, "non-saturating"), torch.sigmoid(x))
    for name in losses.LOSSES:
        p = losses.d_probability(x, name)
        assert ((0 <= p) & (p <= 1)).all() and (p[1:] >= p[:-1]).all(), name   # in [0, 1], increasing


def test_a_loss_name_taken_twice_is_refused_naming_the_kind():
    with pytest.raises(ValueError, match="^loss 'hinge' is registered twice"):
        losses.register_loss(losses.Loss("hinge", losses.hinge_d_loss, losses.hinge_g_loss))


def test_gradient_penalty_interpolates_each_sample_with_its_own_weight():
    """x_hat_i = a_i real_i + (1 - a_i) fake_i, one uniform a_i per sample. With D(x) = |x|^2 / 2 the
    gradient at x_hat is x_hat itself, so the penalty is a closed form of the same draws."""
    def critic(x, y=None):
        return 0.5 * (x ** 2).flatten(1).sum(1)

    real, fake = torch.randn(6, 1, 28, 28) * 0.05, torch.randn(6, 1, 28, 28) * 0.05 + 0.02
    alpha = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(3))
    x_hat = alpha * real + (1 - alpha) * fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    got = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    assert len(set(alpha.flatten().tolist())) == 6               # (the draws do differ per sample)


def test_r1_penalty_of_a_linear_and_of_a_quadratic_d():
    w = torch.randn(1, 1, 28, 28)
    x = torch.randn(6, 1, 28, 28, requires_grad=True)
    linear = (x * w).flatten(1).sum(1)                  # grad = w at every digit
    assert losses.r1_penalty(linear, x).item() == pytest.approx(w.pow(2).sum().item(), rel=1e-5)
    quadratic = 0.5 * x.pow(2).flatten(1).sum(1)        # grad = x: the mean squared norm of the digits
    assert losses.r1_penalty(quadratic, x).item() == pytest.approx(x.detach().pow(2).flatten(1).sum(1).mean().item(),
                                                                   rel=1e-5)
    (g,) = torch.autograd.grad(losses.r1_penalty(0.5 * x.pow(2).flatten(1).sum(1), x), x)   # a loss D can descend
    assert torch.allclose(g, 2 * x.detach() / len(x), rtol=1e-5)
