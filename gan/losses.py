"""GAN losses as small pure functions of the discriminator's logits.

Each ``d_loss`` takes logits on real and fake batches; each ``g_loss`` the logits on fakes.
``real_target`` implements one-sided label smoothing (1 - smoothing).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("minimax", "non-saturating", "lsgan", "hinge", "wgan-gp")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits, target, dtype=torch.float32))


def bce_d_loss(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))), shared by the minimax and non-saturating games."""
    return _bce(real, real_target) + _bce(fake, 0.0)


def minimax_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """Goodfellow's original objective: G minimises log(1 - D(G(z))) (saturates early on)."""
    return -_bce(fake, 0.0)


def non_saturating_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """G maximises log D(G(z)): the fix every practical GAN uses."""
    return _bce(fake, 1.0)


def lsgan_d_loss(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    return 0.5 * ((real.float() - real_target) ** 2).mean() + 0.5 * (fake.float() ** 2).mean()


def lsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((fake.float() - 1.0) ** 2).mean()


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    return F.relu(real_target - real.float()).mean() + F.relu(1.0 + fake.float()).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return -fake.float().mean()


def wasserstein_d_loss(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """Critic loss E[D(G(z))] - E[D(x)]; the gradient penalty is added separately."""
    return fake.float().mean() - real.float().mean()


def wasserstein_g_loss(fake: torch.Tensor) -> torch.Tensor:
    return -fake.float().mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, labels=None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Gulrajani et al.: E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates x_hat."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x_hat, labels)
    (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).float().norm(2, dim=1) - 1.0) ** 2).mean()


D_LOSSES = {"minimax": bce_d_loss, "non-saturating": bce_d_loss, "lsgan": lsgan_d_loss,
            "hinge": hinge_d_loss, "wgan-gp": wasserstein_d_loss}
G_LOSSES = {"minimax": minimax_g_loss, "non-saturating": non_saturating_g_loss, "lsgan": lsgan_g_loss,
            "hinge": hinge_g_loss, "wgan-gp": wasserstein_g_loss}


def d_probability(logits: torch.Tensor, loss: str) -> torch.Tensor:
    """A [0, 1] reading of D's output for plots: sigmoid for the probabilistic losses,
    identity for LSGAN, and a squashed score for hinge / Wasserstein critics."""
    logits = logits.float()
    if loss == "lsgan":
        return logits.clamp(0, 1)
    return torch.sigmoid(logits)
