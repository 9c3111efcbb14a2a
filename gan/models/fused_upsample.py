"""Nearest x2 upsampling followed by a stride-1 "same" convolution, computed on the small map.

Upsample(2) + Conv(k x k) reads each input pixel four times. Split by output phase (even/odd
row and column), every output pixel is a ceil-sized (3 x 3 for k = 5) convolution of the
*input*, with the k x k taps that land on the same input pixel summed. So the pair is one
3 x 3 convolution with 4 x C_out channels and a pixel shuffle: (5/3)^2 = 2.8x fewer
multiply-adds for keras-dcgan's 5 x 5 blocks, the same numbers up to float summation order.

``fuse_upsample_convs(G)`` rewrites a loaded generator in place for sampling. Parameters keep
their names and shapes (state dicts load both ways); the phase kernels are derived from them
and rebuilt whenever the weights change.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _fusable(up: nn.Module, conv: nn.Module) -> bool:
    if not (isinstance(up, nn.Upsample) and up.mode == "nearest" and up.scale_factor in (2, 2.0, (2.0, 2.0))):
        return False
    if type(conv) not in (nn.Conv2d, nn.ConvTranspose2d) or conv.groups != 1 or conv.dilation != (1, 1):
        return False
    k = conv.kernel_size
    return (k[0] == k[1] and k[0] % 2 == 1 and conv.stride == (1, 1) and conv.padding == (k[0] // 2,) * 2
            and getattr(conv, "output_padding", (0, 0)) == (0, 0) and conv.padding_mode == "zeros")


class UpsampleConv(nn.Module):
    """Upsample(x2, nearest) + ``conv`` (stride 1, same padding) as one phase convolution."""

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d):
        super().__init__()
        self.weight, self.bias = conv.weight, conv.bias          # the same parameters, the same names
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self._cache: tuple | None = None
        self.int8: nn.Module | None = None                       # gan.inference.int8_render's copy of the phase conv

    def _phase_weights(self) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        w = self.weight
        key = (w._version, w.data_ptr(), w.dtype, w.device, self._channels_last())
        if self._cache is None or self._cache[0] != key:
            w = transposed_as_conv(w.detach()) if self.transposed else w.detach()
            c_out, c_in, k, _ = w.shape
            r = k // 2
            offsets = [[(a + t - r) // 2 for t in range(k)] for a in (0, 1)]   # input pixel of each tap
            lo = min(min(o) for o in offsets)
            size = max(max(o) for o in offsets) - lo + 1
            phases = w.new_zeros(c_out, 2, 2, c_in, size, size)
            for a in (0, 1):
                for b in (0, 1):
                    for ty in range(k):
                        for tx in range(k):
                            phases[:, a, b, :, offsets[a][ty] - lo, offsets[b][tx] - lo] += w[:, :, ty, tx]
            weight = phases.reshape(4 * c_out, c_in, size, size)    # channel o*4 + a*2 + b, as pixel_shuffle reads
            if key[-1]:                                          # in the model's layout, once
                weight = weight.contiguous(memory_format=torch.channels_last)
            bias = self.bias.detach().repeat_interleave(4) if self.bias is not None else None
            self._cache = (key, weight, bias, -lo)
        return self._cache[1:]

    def _channels_last(self) -> bool:
        return self.weight.is_contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C_in, H, W) -> (N, C_out, 2H, 2W)
        if self.int8 is not None:                                # the int8 copy of the phase conv
            y = self.int8(x)
            return _interleave(y) if self._channels_last() else F.pixel_shuffle(y, 2)
        weight, bias, pad = self._phase_weights()
        if not self._channels_last():
            return F.pixel_shuffle(F.conv2d(x, weight, bias, padding=pad), 2)
        # a channels_last model (the CPU's renders): stay in that layout, interleaving the phases
        # in one copy (pixel_shuffle would return NCHW and every later layer convert back): ~15 %
        x = x.contiguous(memory_format=torch.channels_last)
        return _interleave(F.conv2d(x, weight, bias, padding=pad))


def transposed_as_conv(weight: torch.Tensor) -> torch.Tensor:
    """The kernel of a stride-1 transposed convolution as a plain convolution's: swapped
    in/out channels, flipped taps (the padding becomes k - 1 - p)."""
    return weight.transpose(0, 1).flip(-1, -2)


def _interleave(y: torch.Tensor) -> torch.Tensor:
    """pixel_shuffle(y, 2) for a channels_last y, answered in channels_last memory."""
    n, c4, h, w = y.shape                                    # memory (N, H, W, C_out * 4)
    y = y.permute(0, 2, 3, 1).reshape(n, h, w, c4 // 4, 2, 2)    # channel o*4 + a*2 + b
    y = y.permute(0, 1, 4, 2, 5, 3).reshape(n, 2 * h, 2 * w, c4 // 4)   # (N, 2H, 2W, C_out)
    return y.permute(0, 3, 1, 2)                                 # NCHW shape, channels_last memory


def fuse_upsample_convs(net: nn.Module) -> int:
    """Replace every [Upsample(x2), same-padded stride-1 conv] pair inside ``net``'s Sequentials;
    returns how many pairs were fused."""
    fused = 0
    for module in list(net.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            up, conv = module._modules[first], module._modules[second]
            if _fusable(up, conv):
                module._modules[first] = nn.Identity()
                module._modules[second] = UpsampleConv(conv)
                fused += 1
    return fused
