"""The optimizers a run steps with, and the gradient norm it reports."""
from __future__ import annotations

import torch


def make_optimizer(cfg, params, lr: float, capturable: bool = False) -> torch.optim.Optimizer:
    """The run's optimizer for ``params`` (one network's, as a list or ``net.parameters()``): fused Adam with the run's betas (one kernel a step, on
    CPUs too), or Keras-style RMSprop. ``capturable``: safe inside a CUDA graph (its step count and
    learning rate live on the device)."""
    extra = {"capturable": True} if capturable else {}
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas), fused=True, **extra)
    return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7, **extra)  # Keras defaults


def grad_norm(params) -> torch.Tensor:
    """The L2 norm of all gradients together (zero when there are none), without a host sync."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """A new learning rate, in place when it is a device tensor (a captured graph reads that tensor)."""
    for g in opt.param_groups:
        if isinstance(g["lr"], torch.Tensor):
            g["lr"].fill_(float(lr))
        else:
            g["lr"] = float(lr)
