"""GAN losses as small pure functions of the discriminator's logits.

Each ``d_loss`` takes logits on real and fake batches; each ``g_loss`` the logits on fakes.
``real_target`` implements one-sided label smoothing (1 - smoothing). A ``Loss`` record
bundles one objective's pieces and is registered by name (``LOSSES``), like the presets;
the engine asks the record, never the name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from gan.models.registry import add_named


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


def r1_penalty(real_logits: torch.Tensor, real_input: torch.Tensor) -> torch.Tensor:
    """Mescheder et al. 2018: E[||grad D(x)||^2] at the real digits ``real_input`` (which must
    require grad) that gave ``real_logits``; D's loss adds gamma/2 of it."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_input, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


@dataclass(frozen=True)
class Loss:
    """One GAN objective: D's loss, G's loss, an optional penalty on D (weighted by the run's
    ``gp_weight``) and how to read D's output as a [0, 1] "realness" for the charts."""

    name: str
    d_loss: Callable[..., torch.Tensor]          # (real_logits, fake_logits, real_target) -> scalar
    g_loss: Callable[[torch.Tensor], torch.Tensor]  # fake_logits -> scalar
    penalty: Callable[..., torch.Tensor] | None = None  # (critic, real, fake, labels, generator) -> scalar
    to_probability: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid
    description: str = ""


LOSSES: dict[str, Loss] = {}


def register_loss(loss: Loss) -> Loss:
    return add_named(LOSSES, loss, "loss")


def get_loss(name: str) -> Loss:
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {name!r}") from None


def _clamp01(logits: torch.Tensor) -> torch.Tensor:
    return logits.clamp(0, 1)


register_loss(Loss("minimax", bce_d_loss, minimax_g_loss,
                   description="Goodfellow's original game; G's gradient vanishes when D wins"))
register_loss(Loss("non-saturating", bce_d_loss, non_saturating_g_loss,
                   description="G maximises log D(G(z)): strong gradients early on"))
register_loss(Loss("lsgan", lsgan_d_loss, lsgan_g_loss, to_probability=_clamp01,
                   description="least squares (Mao et al. 2017)"))
register_loss(Loss("hinge", hinge_d_loss, hinge_g_loss, description="hinge (Miyato et al. 2018)"))
register_loss(Loss("wgan-gp", wasserstein_d_loss, wasserstein_g_loss, penalty=gradient_penalty,
                   description="Wasserstein critic with gradient penalty (Gulrajani et al. 2017)"))


def d_probability(logits: torch.Tensor, loss: str) -> torch.Tensor:
    """A [0, 1] reading of D's output for plots: sigmoid for the probabilistic losses,
    clamped for LSGAN, and a squashed score for hinge / Wasserstein critics."""
    return get_loss(loss).to_probability(logits.float())
