"""Upsample(x2) + same-padded conv computed as one phase convolution: the same pictures, the
same parameters under the same names, rebuilt when the weights change."""
import pytest
import torch
import torch.nn as nn

from gan.models.fused_upsample import UpsampleConv, fuse_upsample_convs


@pytest.mark.parametrize("conv_cls", [nn.Conv2d, nn.ConvTranspose2d])
@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("channels_last", [False, True])
def test_the_fused_pair_computes_the_same_map(conv_cls, k, channels_last):
    torch.manual_seed(k)
    net = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv_cls(6, 4, k, 1, k // 2), nn.ReLU())
    x = torch.randn(3, 6, 7, 5)
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    want = net(x)
    keys = {n: v.shape for n, v in net.state_dict().items()}
    assert fuse_upsample_convs(net) == 1 and isinstance(net[1], UpsampleConv)
    got = net(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last   # the model's layout kept
    assert {n: v.shape for n, v in net.state_dict().items()} == keys      # state dicts load both ways


def test_a_channels_last_model_takes_a_plain_input_and_answers_channels_last():
    torch.manual_seed(0)                                     # keras-dcgan: its dense layer's view is NCHW
    net = nn.Sequential(nn.Upsample(scale_factor=2), nn.ConvTranspose2d(8, 3, 5, 1, 2))
    x = torch.randn(2, 8, 7, 7)
    want = net(x)
    fuse_upsample_convs(net.to(memory_format=torch.channels_last))
    got = net(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert got.is_contiguous(memory_format=torch.channels_last)


def test_pairs_it_cannot_fuse_are_left_alone():
    net = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(2, 2, 5, 1, 2),
                        nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 5, 2, 2),
                        nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 4, 1, 2))
    assert fuse_upsample_convs(net) == 0


def test_new_weights_are_used_after_loading_them():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Upsample(scale_factor=2), nn.ConvTranspose2d(3, 2, 5, 1, 2))
    other = nn.Sequential(nn.Upsample(scale_factor=2), nn.ConvTranspose2d(3, 2, 5, 1, 2))
    x = torch.randn(2, 3, 4, 4)
    fuse_upsample_convs(net)
    net(x)                                                              # phase kernels built for the old weights
    net.load_state_dict(other.state_dict())
    torch.testing.assert_close(net(x), other(x), rtol=1e-5, atol=1e-5)


def test_the_shipped_keras_dcgan_is_fused_and_draws_the_same_digits():
    from gan.inference.sampling import load_generator, load_network
    model = load_generator("weights/keras-dcgan.safetensors")
    assert sum(isinstance(m, UpsampleConv) for m in model.G.modules()) == 2
    plain, _, _ = load_network("weights/keras-dcgan.safetensors", "G")
    z = model.latents(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(model.G(z), plain.eval()(z), rtol=1e-4, atol=1e-4)
