"""Int8 renders: each quantized convolution answers what its float one does, up to 8-bit
rounding; a generator's int8 copy draws the same digits; it is used only when accurate (and
faster), never for evaluation, and anything failing leaves the float renders in place."""
import pytest
import torch
import torch.nn as nn

from gan.inference import int8_render
from gan.inference.int8_render import Int8Conv, as_conv, attach_int8, int8_generator
from gan.inference.sampling import GeneratorModel
from gan.models.fused_upsample import UpsampleConv, fuse_upsample_convs
from gan.models.registry import get_preset, model_config_from_dict

needs_vnni = pytest.mark.skipif(not int8_render.cpu_has_vnni(), reason="int8 kernels need VNNI")


def _within_quantization(got, want, levels=3):
    """Every value within a few 8-bit steps of the output's range."""
    step = float(want.max() - want.min()) / 255
    assert float((got - want).abs().max()) <= levels * step


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (1, 0)])
def test_an_int8_convolution_answers_its_float_one(stride, padding):
    torch.manual_seed(stride + padding)
    conv = nn.Conv2d(16, 24, 3, stride, padding)
    x = torch.randn(4, 16, 9, 7).relu() - 0.2                    # a range that is not symmetric
    want = conv(x).detach()
    got = Int8Conv(conv.weight, conv.bias, (float(x.min()), float(x.max())),
                   (float(want.min()), float(want.max())), stride, padding)(x)
    assert got.shape == want.shape and got.dtype == torch.float32
    _within_quantization(got, want)


def test_stride_one_transposed_convolutions_become_convolutions_and_strided_ones_stay_float():
    torch.manual_seed(0)
    t = nn.ConvTranspose2d(6, 4, 5, 1, 2)
    weight, bias, stride, padding = as_conv(t)
    x = torch.randn(2, 6, 7, 7)
    torch.testing.assert_close(nn.functional.conv2d(x, weight, bias, stride, padding), t(x), rtol=1e-5, atol=1e-5)
    assert as_conv(nn.ConvTranspose2d(6, 4, 4, 2, 1)) is None
    assert as_conv(nn.Conv2d(6, 6, 3, groups=3)) is None
    up = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(6, 4, 5, 1, 2))
    fuse_upsample_convs(up)
    assert as_conv(up[1])[0].shape == (16, 6, 3, 3)              # the four phases' 3x3 kernels


def _keras_model(seed=0) -> GeneratorModel:
    torch.manual_seed(seed)
    mcfg = model_config_from_dict("keras-dcgan", get_preset("keras-dcgan").tiny_model)
    G = mcfg.build()[0]
    for m in G.modules():                                        # trained-looking batch statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    fuse_upsample_convs(G)
    return GeneratorModel(G.eval().to(memory_format=torch.channels_last), mcfg, "keras-dcgan", {})


def test_a_generators_int8_copy_draws_the_same_digits():
    model = _keras_model()
    G8, layers = int8_generator(model, min_macs=0)
    assert layers == ["net.2", "net.6", "net.9", "net.12"]       # both fused blocks and both plain convs
    assert isinstance(G8.net[2], UpsampleConv) and isinstance(G8.net[2].int8, Int8Conv)
    assert isinstance(G8.net[9], Int8Conv) and model.G.net[2].int8 is None   # the original is untouched
    z = model.latents(5, 32)
    with torch.no_grad():
        want, got = model.G(z), G8(z)
    assert (got - want).abs().mean() * 255 < 1.5 and (got - want).abs().max() * 255 < 40
    assert int8_generator(model)[1] == []                        # a tiny model: nothing worth it


@needs_vnni
def test_attach_uses_the_int8_copy_for_renders_only(monkeypatch):
    model = _keras_model()
    z = model.latents(3, 16)
    exact, fast = model.generate(z), model.generate(z, fast=True)
    monkeypatch.setattr(int8_render, "MIN_MACS", 0)
    monkeypatch.setattr(int8_render, "MIN_SPEEDUP", 0.0)          # speed is the benchmark's business
    report = attach_int8(model)
    assert report["used"] and report["layers"] and 0 < report["error_mean"] <= int8_render.MAX_MEAN_ERROR
    assert report["bf16_ms"] > 0 and report["int8_ms"] > 0
    assert model.fast_G is not None
    assert (model.generate(z) == exact).all()                    # evaluation: the float model, unchanged
    drawn = model.generate(z, fast=True)
    assert not (drawn == fast).all()                             # renders: the int8 copy...
    assert abs(drawn.astype(float) - exact).mean() <= int8_render.MAX_MEAN_ERROR   # ...close to the float


@needs_vnni
def test_an_inaccurate_or_failing_int8_copy_is_not_used(monkeypatch):
    model = _keras_model()
    monkeypatch.setattr(int8_render, "MIN_MACS", 0)
    monkeypatch.setattr(int8_render, "MIN_SPEEDUP", 0.0)
    monkeypatch.setattr(int8_render, "MAX_MEAN_ERROR", 0.0)        # nothing is that exact
    report = attach_int8(model)
    assert not report["used"] and report["error_mean"] > 0 and model.fast_G is None
    monkeypatch.setattr(int8_render, "MAX_MEAN_ERROR", 1.0)
    monkeypatch.setattr(int8_render, "MIN_SPEEDUP", 1e9)           # not faster: not used either
    assert not attach_int8(model)["used"] and model.fast_G is None

    def broken(*a, **k):
        raise RuntimeError("no quantized engine")
    monkeypatch.setattr(int8_render, "int8_generator", broken)
    report = attach_int8(model)
    assert report == {"used": False, "reason": "RuntimeError: no quantized engine"} and model.fast_G is None

    class Failing(nn.Module):                                      # built, but its first render fails
        def forward(self, z, labels=None):
            raise ValueError("kernel refused")
    monkeypatch.setattr(int8_render, "int8_generator", lambda m: (Failing(), ["net.0"]))
    report = attach_int8(model)
    assert report == {"used": False, "reason": "ValueError: kernel refused"} and model.fast_G is None


def test_without_8bit_dot_products_nothing_is_tried(monkeypatch):
    model = _keras_model()
    monkeypatch.setattr(int8_render, "cpu_has_vnni", lambda: False)
    assert attach_int8(model) == {"used": False, "reason": "no 8-bit dot products on this device"}
    assert model.fast_G is None


@needs_vnni
def test_render_workers_share_one_int8_copy(monkeypatch):
    import threading
    model = _keras_model()
    monkeypatch.setattr(int8_render, "MIN_MACS", 0)
    monkeypatch.setattr(int8_render, "MIN_SPEEDUP", 0.0)
    assert attach_int8(model)["used"]
    inputs = [model.latents(seed, 24) for seed in range(6)]
    serial = [model.generate(z, fast=True) for z in inputs]
    got = [None] * len(inputs)

    def work(i):
        for _ in range(5):
            got[i] = model.generate(inputs[i], fast=True)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all((a == b).all() for a, b in zip(got, serial))


@pytest.mark.parametrize("conv", [
    nn.Conv2d(4, 4, 3, padding=1, groups=2), nn.Conv2d(4, 4, 3, padding=2, dilation=2),
    nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), nn.ConvTranspose2d(4, 4, 3, 2, 1),
    nn.ConvTranspose2d(4, 4, 3, 1, 1, output_padding=0, groups=2),
], ids=["groups", "dilation", "reflect-padding", "strided-transposed", "grouped-transposed"])
def test_a_convolution_int8_cannot_express_as_a_plain_one_stays_float(conv):
    assert as_conv(conv) is None


def test_a_plain_convolution_is_taken_as_it_is():
    conv = nn.Conv2d(4, 6, 3, 2, 1)
    weight, bias, stride, padding = as_conv(conv)
    assert weight is conv.weight and bias is conv.bias and (stride, padding) == ((2, 2), (1, 1))
