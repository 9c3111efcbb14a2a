"""Int8 renders for CPUs with 8-bit dot products (VNNI): the big convolutions of a loaded
generator run on 8-bit integers (oneDNN's quantized kernels), for the crowd's costliest renders
(keras-dcgan's grids; README, Performance, has the figures).

``int8_generator(model)`` copies a ``GeneratorModel``'s network with every convolution of at
least ``MIN_MACS`` multiply-adds a digit replaced by an ``Int8Conv`` (weights one scale per
output channel, activations one affine range, both calibrated once on seeded latents); the
rest (linear layers, normalisation, activations, strided transposed convolutions, which
oneDNN only quantizes per tensor) stays in float. ``attach_int8(model)`` keeps that copy as
the model's ``fast_G`` (what interactive renders use) only when it earns it: its pixels within
``MAX_MEAN_ERROR`` grey levels of the float model's on fresh latents, and at least
``MIN_SPEEDUP`` faster than the bf16 render it replaces, timed on this machine. Anything that
goes wrong (an old CPU, a PyTorch without quantized kernels) leaves the float renders alone.
"""
from __future__ import annotations

import copy
import functools
import time
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from gan.models.fused_upsample import UpsampleConv, transposed_as_conv

# PyTorch 2.10+ warns on every quantized tensor that they will move to torchao; until then these
# kernels are the CPU's int8 path, and attach_int8 falls back to float renders when they go.
warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quantize_per_channel",
                        category=UserWarning)

MIN_MACS = 2_000_000            # smaller convolutions lose more to (de)quantizing than they gain
MAX_MEAN_ERROR = 1.0            # mean grey levels (of 255) from the float model's pixels
MIN_SPEEDUP = 1.15              # the int8 copy must be at least this much faster to be used
CALIBRATION = 128               # seeded latents that set the activation ranges


@functools.lru_cache(maxsize=1)
def cpu_has_vnni() -> bool:
    """True on CPUs with 8-bit dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in (" avx512_vnni", " avx_vnni", " amx_int8"))


def _affine(lo: float, hi: float) -> tuple[float, int]:
    """quint8 scale and zero point covering [lo, hi] (and 0, so zero padding stays exact)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255
    return scale, int(round(-lo / scale))


class Int8Conv(nn.Module):
    """A convolution (groups of one) run in int8 by oneDNN: float NCHW in, float out
    (channels_last memory). Weights get one scale per output channel, the input one affine
    range; both ranges come from calibration."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, in_range: tuple[float, float],
                 out_range: tuple[float, float], stride=1, padding=0):
        super().__init__()
        import torch.ao.nn.quantized as nnq
        w = weight.detach().float()
        scales = w.abs().amax(dim=(1, 2, 3)).clamp_min(1e-8) / 127
        qw = torch.quantize_per_channel(w, scales.double(), torch.zeros(len(scales), dtype=torch.long), 0,
                                        torch.qint8)
        self.q = nnq.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride, padding)
        self.q.set_weight_bias(qw, None if bias is None else bias.detach().float())
        self.q.scale, self.q.zero_point = _affine(*out_range)
        self.in_scale, self.in_zero = _affine(*in_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().contiguous(memory_format=torch.channels_last)
        return self.q(torch.quantize_per_tensor(x, self.in_scale, self.in_zero, torch.quint8)).dequantize()


def as_conv(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None, tuple, tuple] | None:
    """(weight, bias, stride, padding) of ``m`` as a plain convolution, or None when it has none
    we quantize: a stride-1 transposed convolution is a convolution with swapped, flipped
    kernels (padding k - 1 - p); strided transposed ones stay in float."""
    if isinstance(m, UpsampleConv):
        weight, bias, pad = m._phase_weights()
        return weight, bias, (1, 1), (pad, pad)
    if getattr(m, "groups", 1) != 1 or getattr(m, "dilation", (1, 1)) != (1, 1) or m.padding_mode != "zeros":
        return None
    if isinstance(m, nn.Conv2d):
        return m.weight, m.bias, m.stride, m.padding
    if m.stride == (1, 1) and m.output_padding == (0, 0):
        k = m.kernel_size
        return (transposed_as_conv(m.weight), m.bias, (1, 1),
                (k[0] - 1 - m.padding[0], k[1] - 1 - m.padding[1]))
    return None


_CONVS = (nn.Conv2d, nn.ConvTranspose2d, UpsampleConv)


def _macs(module: nn.Module, y: torch.Tensor) -> int:
    """Multiply-adds a sample of one convolution (from its output's shape and its kernel)."""
    w = as_conv(module)[0]
    return y[0].numel() * w[0].numel()           # (an UpsampleConv's output: its phase conv's, interleaved)


@torch.no_grad()
def int8_generator(model, n: int = CALIBRATION, seed: int = 1234, min_macs: int | None = None
                   ) -> tuple[nn.Module, list[str]]:
    """A copy of ``model.G`` with its big convolutions in int8, and their names."""
    min_macs = MIN_MACS if min_macs is None else min_macs
    G = copy.deepcopy(model.G).float().eval()
    seen: dict[str, tuple] = {}

    def record(name):
        def hook(module, inputs, output):
            x = inputs[0]
            seen[name] = (module, float(x.min()), float(x.max()), float(output.min()), float(output.max()),
                          _macs(module, output))
        return hook
    hooks = [m.register_forward_hook(record(name)) for name, m in G.named_modules()
             if isinstance(m, _CONVS) and as_conv(m) is not None]
    try:
        G(model.latents(seed, n), model.labels(n))
    finally:
        for h in hooks:
            h.remove()
    done = []
    for name, (m, lo, hi, out_lo, out_hi, macs) in seen.items():
        if macs < min_macs:
            continue
        weight, bias, stride, padding = as_conv(m)
        q = Int8Conv(weight, bias, (lo, hi), (out_lo, out_hi), stride, padding)
        if isinstance(m, UpsampleConv):
            m.int8 = q                                     # the phase conv; the interleave stays
        else:
            parent, _, child = name.rpartition(".")
            setattr(G.get_submodule(parent) if parent else G, child, q)
        done.append(name)
    return G, done


def attach_int8(model, n: int = 64, seed: int = 99, repeats: int = 3) -> dict:
    """Give ``model`` an int8 ``fast_G`` if it is accurate and faster here. Returns what was
    measured: ``used``; the int8 ``layers``; ``error_mean`` and ``error_max`` (grey levels
    against the float model on ``n`` fresh latents); ``bf16_ms`` and ``int8_ms`` (an
    ``n``-digit render, best of ``repeats``); or a ``reason`` when it was not tried or failed."""
    model.fast_G = None
    if model.device.type != "cpu" or not cpu_has_vnni():
        return {"used": False, "reason": "no 8-bit dot products on this device"}
    try:
        G8, layers = int8_generator(model)
    except Exception as e:  # noqa: BLE001 - an optimisation: without it the float renders stay
        return {"used": False, "reason": f"{type(e).__name__}: {e}"}
    if not layers:
        return {"used": False, "reason": "no convolution big enough"}
    z, labels = model.latents(seed, n), model.labels(n)
    exact = torch.from_numpy(model.generate(z, labels)).float()
    bf16_ms = _best_ms(lambda: model.generate(z, labels, fast=True), repeats)
    model.fast_G = G8
    try:
        diff = (torch.from_numpy(model.generate(z, labels, fast=True)).float() - exact).abs()
        int8_ms = _best_ms(lambda: model.generate(z, labels, fast=True), repeats)
    except Exception as e:  # noqa: BLE001
        model.fast_G = None
        return {"used": False, "reason": f"{type(e).__name__}: {e}"}
    report = {"layers": layers, "error_mean": float(diff.mean()), "error_max": float(diff.max()),
              "bf16_ms": bf16_ms, "int8_ms": int8_ms}
    report["used"] = report["error_mean"] <= MAX_MEAN_ERROR and bf16_ms >= MIN_SPEEDUP * int8_ms
    if not report["used"]:
        model.fast_G = None
    return report


def _best_ms(fn, repeats: int) -> float:
    fn()                                              # the first call builds oneDNN's kernels
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000
