"""Pixels <-> generator outputs: the two ends map exactly, in the dtype asked for, both ways."""
import torch

from gan.engine.pixels import from_pixels, to_pixels


def test_the_full_pixel_range_maps_onto_each_output_range_and_back():
    every = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16).expand(2, 16, 16)
    for output, (lo, hi) in (("tanh", (-1, 1)), ("sigmoid", (0, 1))):
        x = from_pixels(every, output)
        assert x.shape == (2, 1, 16, 16) and x.dtype == torch.float32
        assert x.min().item() == lo and x.max().item() == hi             # 0 and 255 at the ends exactly
        assert torch.equal(to_pixels(x, output), every), output          # and every value back
    assert from_pixels(every, "tanh", dtype=torch.float64).dtype == torch.float64
