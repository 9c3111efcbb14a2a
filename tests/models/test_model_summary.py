"""The model diagram is read from the networks themselves: shapes, order and parameter counts."""
import pytest

from gan.models.model_summary import describe, markdown, model_markdown
from gan.models.registry import get_preset, preset_names
from tests.helpers import TINY


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_maps_z_to_a_digit_and_a_digit_to_one_score(preset):
    mcfg = get_preset(preset).model_config()
    G, D = mcfg.build()
    s = describe(mcfg, G, D)
    assert s["G"]["output"] == (1, 28, 28) and s["D"]["output"] == ()          # a digit; one score per image
    for role, net in (("G", G), ("D", D)):
        assert s[role]["params"] == sum(p.numel() for p in net.parameters())
        assert sum(r["params"] for r in s[role]["rows"]) == s[role]["params"]    # every weight sits in a listed layer


def test_the_table_follows_the_architecture_arguments():
    wide = model_markdown("dcgan", '{"ngf": 64}')
    tiny = model_markdown("dcgan", '{"ndf": 8, "ngf": 8, "z_dim": 16}')
    assert "(128, 14, 14)" in wide and "(16, 14, 14)" in tiny and "input z (16,)" in tiny
    assert wide.count("| ConvTranspose2d |") == 3


def test_cs231n_shows_the_seeds_56x56_projection_and_7x7x64_dense_input():
    mcfg = get_preset("cs231n").model_config()
    text = markdown(describe(mcfg), mcfg.z_dim)
    assert "| fc | Linear | (3136,) |" in text and "| net.6 | Flatten | (3136,) |" in text


def test_the_app_shows_the_chosen_models_diagram():
    from gan.app.handlers import Playground
    play = Playground()
    card, _, _, diagram, _, _ = play.model_info("vanilla")
    assert "**Generator**" in diagram and "**Discriminator**" in diagram
    assert f"{sum(p.numel() for p in play.library.get('vanilla')[0].G.parameters()):,} parameters" in diagram
    assert TINY  # the helpers' tiny models come from the registry too
