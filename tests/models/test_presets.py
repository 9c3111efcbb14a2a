"""Tests of gan/models/presets/ (every registered preset)."""
import math

import pytest
import torch

from gan.engine.config import TrainConfig
from gan.engine.loop import train
from gan.models.registry import get_preset, preset_names
from tests.helpers import tiny_config

CLASSICS = {"vanilla", "dcgan", "keras-dcgan", "cs231n", "one-digit", "cgan", "wgan-gp"}
PRESETS = preset_names()                 # a new preset file is picked up here without a test edit


def test_all_presets_registered():
    assert CLASSICS <= set(PRESETS)
    for name in PRESETS:
        p = get_preset(name)
        assert p.description and p.reference
        p.model_config(**p.tiny_model)                              # its test model builds
        p.model_config(**p.cpu_recipe.get("model", {}))             # and its CPU recipe's model


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="dcgan"):
        get_preset("stylegan9")


@pytest.mark.parametrize("name", PRESETS)
def test_default_architecture_shapes_and_ranges(name):
    mcfg = get_preset(name).model_config()
    G, D = mcfg.build()
    G.eval()
    z = torch.randn(4, mcfg.z_dim)
    y = torch.tensor([0, 1, 2, 3]) if mcfg.num_classes else None
    x = G(z, y)
    assert x.shape == (4, 1, 28, 28)
    lo, hi = (-1, 1) if mcfg.output == "tanh" else (0, 1)
    assert x.min() >= lo and x.max() <= hi
    assert D(x, y).shape == (4,)


def test_faithful_architectures():
    vanilla = get_preset("vanilla").model_config().build()[0]
    widths = [m.out_features for m in vanilla.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 256, 512, 1024, 784]
    bns = [m for m in vanilla.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(bns) == 3 and all(b.eps == 1e-5 for b in bns)       # normal eps, not PyTorch-GAN's 0.8
    faithful = TrainConfig.for_preset("vanilla", steps=1).model_config().build()[0]
    assert all(b.momentum == 0.2 and b.eps == 1e-5 for b in faithful.modules() if isinstance(b, torch.nn.BatchNorm1d))
    keras_d = get_preset("keras-dcgan").model_config().build()[1]
    convs = [m for m in keras_d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512] and [c.stride[0] for c in convs] == [2, 2, 2, 1]
    wgan_d = get_preset("wgan-gp").model_config().build()[1]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in wgan_d.modules())
    assert get_preset("cs231n").recipe["d_pretrain_steps"] == 300
    assert get_preset("one-digit").recipe["label_smoothing"] == 0.1


# each preset's faithful recipe and latent, from its source (../shared/seeds/, the papers):
# a changed rate, batch, beta or latent fails here even when every shape still matches
FAITHFUL = {
    "vanilla": dict(recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
                                batch_size=64, step_order="g-first", model={"bn_momentum": 0.2}),
                    z=(100, "normal", "tanh")),            # seed 001's opt defaults and step order
    "dcgan": dict(recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
                              batch_size=128, ema=0.999), z=(100, "normal", "tanh")),  # Radford 2015, sec. 4
    "cgan": dict(recipe=dict(loss="non-saturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
                             batch_size=128, ema=0.999), z=(100, "normal", "tanh")),
    "wgan-gp": dict(recipe=dict(loss="wgan-gp", optimizer="adam", lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9), batch_size=64,
                                d_steps=5, gp_weight=10.0, ema=0.999), z=(100, "normal", "tanh")),  # Algorithm 1
    "keras-dcgan": dict(recipe=dict(loss="non-saturating", optimizer="rmsprop", lr_d=2e-4, lr_g=1e-4, batch_size=256,
                                    clip_grad=1.0, d_fakes="eval", adversarial_d="trained",
                                    model={"z_dist": "uniform", "init": "glorot", "bn_eps": 1e-3}),
                        z=(100, "uniform", "sigmoid")),    # seed 002's code
    "cs231n": dict(recipe=dict(loss="non-saturating", optimizer="adam", lr_d=3e-4, lr_g=1e-4, betas=(0.9, 0.999),
                               batch_size=50, d_pretrain_steps=300), z=(100, "normal", "sigmoid")),  # seed 003
    "one-digit": dict(recipe=dict(loss="non-saturating", optimizer="adam", lr_g=1e-3, lr_d=1e-3, betas=(0.9, 0.999),
                                  batch_size=100, label_smoothing=0.1, digits=(0,)), z=(100, "uniform", "tanh")),  # seed 004
}


@pytest.mark.parametrize("name", PRESETS)
def test_every_presets_faithful_hyper_parameters_are_pinned(name):
    preset, want = get_preset(name), FAITHFUL[name]
    assert preset.recipe == want["recipe"]
    cfg = TrainConfig.for_preset(name, steps=1)                         # the recipe reaches the run unchanged
    m = cfg.model_config()
    assert (m.z_dim, m.z_dist, m.output) == want["z"]
    def plain(v):
        return tuple(v) if isinstance(v, (list, tuple)) else v
    for key, value in want["recipe"].items():
        assert plain(getattr(cfg, key)) == plain(value), (key, getattr(cfg, key))


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_trains_a_few_steps(name, fake_digits):
    cfg = tiny_config(name, steps=3)
    from gan.engine.trainer import Trainer
    trainer = Trainer(cfg, fake_digits)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items() if v.is_floating_point()}
    result = train(cfg, trainer=trainer)
    assert result.status == "finished" and trainer.step == 3
    stats = [p.stats for p in result.history if p.stats]
    assert stats and all(math.isfinite(v) for s in stats for v in s.values() if v is not None)
    after = trainer.G.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "generator weights did not move"
    assert result.history[-1].samples.dtype == torch.uint8


def test_cs231n_pretrains_discriminator_first(fake_digits):
    from gan.engine.trainer import Trainer
    cfg = tiny_config("cs231n", steps=2, d_pretrain_steps=5)
    trainer = Trainer(cfg, fake_digits)
    g_before = [p.clone() for p in trainer.G.parameters()]
    for _ in range(5):
        trainer.train_step()
    assert trainer.step == 0 and trainer.d_step_count == 5
    assert all(torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))
    trainer.train_step()
    assert trainer.step == 1


def test_wgan_gp_runs_n_critic_steps(fake_digits):
    from gan.engine.trainer import Trainer
    trainer = Trainer(tiny_config("wgan-gp", d_steps=5), fake_digits)
    trainer.train_step()
    assert (trainer.d_step_count, trainer.step) == (5, 1)


def test_one_digit_trains_on_its_digit_only(fake_digits):
    from gan.engine.trainer import Trainer
    trainer = Trainer(tiny_config("one-digit", digits=(3,)), fake_digits)
    assert set(trainer.data.labels.tolist()) == {3}


def test_cs231n_samples_with_the_same_function_it_trains():
    """Sampling skips the 4x upsampled map (even pixels of a bilinear x2 are a 2-tap filter): the
    same digits as the seed's interpolate-then-subsample path, for odd sizes and batch 1 too."""
    import torch.nn.functional as F

    from gan.models.presets.cs231n import even_pixels_of_upsampled
    for shape in ((3, 5, 28, 28), (1, 2, 7, 9)):
        x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        want = F.interpolate(x, size=(2 * shape[2], 2 * shape[3]), mode="bilinear", align_corners=False)[:, :, ::2, ::2]
        torch.testing.assert_close(even_pixels_of_upsampled(x), want, rtol=1e-6, atol=1e-6)
    G, _ = get_preset("cs231n").model_config().build()
    torch.manual_seed(1)
    for m in G.modules():                                      # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2)
    z = torch.randn(4, G.fc.in_features)
    fast = G.eval()(z)
    G.training = True                                          # the seed's path, the same statistics
    for m in G.modules():
        m.training = m is G
    torch.testing.assert_close(G(z), fast, rtol=1e-5, atol=1e-5)


def test_keras_dcgans_faithful_model_is_built_as_keras_builds_it():
    G, D = TrainConfig.for_preset("keras-dcgan", steps=1).model_config().build()
    layers = [m for net in (G, D) for m in net.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d,
                                                                             torch.nn.ConvTranspose2d))]
    assert all(torch.count_nonzero(m.bias) == 0 for m in layers)                # zero biases
    for m in layers:                                                           # glorot-uniform bounds
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(m.weight)
        bound = (6 / (fan_in + fan_out)) ** 0.5
        assert m.weight.abs().max() <= bound and m.weight.abs().max() > 0.9 * bound
    bns = [m for m in G.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    assert len(bns) == 4 and all(b.eps == 1e-3 for b in bns)
    torch_default = get_preset("keras-dcgan").model_config().build()[0]           # a file saved before the re-read
    assert all(b.eps == 1e-5 for b in torch_default.modules() if isinstance(b, torch.nn.BatchNorm1d))


def test_keras_dcgans_code_discriminator_is_the_seeds_smaller_one():
    D = get_preset("keras-dcgan").model_config(d_widths=[1, 1, 1, 1], d_strides=[2, 2, 2, 2], d_dropout=0.5).build()[1]
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64] * 4 and [c.stride[0] for c in convs] == [2] * 4
    assert all(m.p == 0.5 for m in D.modules() if isinstance(m, torch.nn.Dropout))
    assert D(torch.zeros(3, 1, 28, 28)).shape == (3,)                          # 28 -> 14 -> 7 -> 4 -> 2: 64 * 2 * 2 in
    assert D.net[-1].in_features == 64 * 2 * 2


@pytest.mark.parametrize("bad", [dict(init="he"), dict(bn_eps=0.0), dict(d_widths=[1, 2], d_strides=[2]),
                                 dict(d_strides=[2, 2, 3, 1])])
def test_keras_dcgans_model_fields_refuse_what_cannot_be_built(bad):
    with pytest.raises(ValueError):
        get_preset("keras-dcgan").model_config(**bad)


def test_a_model_override_changes_only_its_fields_of_the_recipes_model():
    cfg = TrainConfig.for_preset("keras-dcgan", steps=1, model={"depth": 8})
    assert cfg.model == {"z_dist": "uniform", "init": "glorot", "bn_eps": 1e-3, "depth": 8}
    assert TrainConfig.for_preset("keras-dcgan", steps=1, model={"z_dist": "normal"}).model["z_dist"] == "normal"
