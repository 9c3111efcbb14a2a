"""Training one GAN on several processes: torchrun + DistributedDataParallel.

``torchrun --standalone --nproc_per_node=N -m gan train ...`` sets RANK/WORLD_SIZE/LOCAL_RANK;
``World.from_env()`` reads them, ``start(world, device)`` joins the process group (NCCL on CUDA,
gloo on a CPU) and the Trainer does the rest:

- G and D are each wrapped in their own DistributedDataParallel. D's step runs through D's
  wrapper (its gradients are averaged once per D step); G's step reads D through the bare
  module and back-propagates into G's parameters only (``backward(inputs=...)``), so D's
  gradients are never reduced by G's backward and G's are reduced once, by G's wrapper.
- Every rank walks the same seeded permutation and the same noise stream and takes its own
  slice of each global batch: ranks never share a sample, and N ranks x batch B take exactly
  the samples (and z) that one process with batch N*B takes. Gradients are averaged, so the
  run *is* that one-process run (bit for bit up to float summation order, without
  BatchNorm; with BatchNorm the statistics are per rank unless SyncBatchNorm, on CUDA).
- Learning rates are used as given: the effective batch is N*B with the same rates. To keep
  a single-process recipe's batch and rates, pass ``--batch-size B/N``.
- Decisions that depend on the clock (a ``--seconds`` length, ``--stop-at-goal``) are taken
  on rank 0 and agreed at each progress report, so every rank stops at the same step.
- Rank 0 alone reports, writes samples, TensorBoard, checkpoints and exports.

A single-process run never touches torch.distributed.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP


@dataclass(frozen=True)
class World:
    """Where this process sits among the ranks of one run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    @classmethod
    def from_env(cls, env=None) -> "World":
        """The world torchrun describes in the environment; one process when it describes none."""
        env = os.environ if env is None else env
        if "WORLD_SIZE" not in env:
            return SINGLE
        try:
            w = cls(rank=int(env.get("RANK", 0)), size=int(env["WORLD_SIZE"]), local_rank=int(env.get("LOCAL_RANK", 0)))
        except ValueError:
            raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (they are set by torchrun)") from None
        if w.size < 1 or not 0 <= w.rank < w.size or w.local_rank < 0:
            raise ValueError(f"inconsistent torchrun environment: rank {w.rank} of {w.size}, local rank {w.local_rank}")
        return w

    def device(self, name: str) -> str:
        """Each rank's device: its local GPU (``cuda:LOCAL_RANK``) when the run is on CUDA."""
        if not self.active or not name.startswith("cuda") and not (name == "auto" and torch.cuda.is_available()):
            return name
        return f"cuda:{self.local_rank}"


SINGLE = World()


def start(world: World, device: str, timeout_s: float = 600.0) -> None:
    """Join the run's process group; a rank that waits on a lost peer gives up after ``timeout_s``."""
    if not world.active or dist.is_initialized():
        return
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(seconds=timeout_s))


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(net: nn.Module, device: torch.device) -> nn.Module:
    """``net`` (already on ``device``) inside DistributedDataParallel, which shares its
    parameters: the trainer keeps the bare module for state, the EMA and G's view of D."""
    cuda = device.type == "cuda"
    # A 1-channel conv weight is both contiguous and channels_last; its gradient then comes out
    # in the other layout than DDP's bucket and DDP warns once per process (a copy of one tiny
    # tensor, not an error). Buffers (BatchNorm's running statistics) follow rank 0's.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return DDP(net, device_ids=[device.index] if cuda else None)


def convert_sync_bn(net: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
    """SyncBatchNorm in place of BatchNorm on CUDA (it has no CPU kernel), when asked for."""
    if sync_bn and device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    return net


def sum_across(t: torch.Tensor) -> torch.Tensor:
    """``t`` summed over all ranks (in place); unchanged in a single process."""
    if dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def agree(flag: bool, device: torch.device) -> bool:
    """True on every rank when it is true on any: the first clock past a --seconds length stops all."""
    if not dist.is_initialized():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
