"""Tests of gan/inference/latent_map.py: a clickable map of a model's digits."""
import numpy as np

from gan.inference.latent_map import MAP_SIZE, latent_map
from gan.inference.sampling import load_generator
from tests.helpers import ROOT


def test_the_shipped_cgans_map_shows_every_digit_and_a_click_picks_the_point_under_it():
    model = load_generator(ROOT / "weights" / "cgan.safetensors")
    m = latent_map(model, n=600)
    assert m.z.shape == (600, model.mcfg.z_dim) and m.labels.shape == (600,) and m.xy.shape == (600, 2)
    assert set(m.classes.tolist()) == set(range(10)) and np.mean(m.classes == m.labels.numpy()) > 0.9
    assert m.picture.shape[:2] == (MAP_SIZE + 18, MAP_SIZE) and m.picture.dtype == np.uint8
    for i in (0, 123, 599):                                         # a click on a point picks that point
        px, py = m.xy[i, 0] * (MAP_SIZE - 1), (1 - m.xy[i, 1]) * (MAP_SIZE - 1)
        j = m.pick(px, py)
        assert j == i or np.allclose(m.xy[j], m.xy[i], atol=1.5 / MAP_SIZE)
    assert m.pick(10, MAP_SIZE + 5) is None and m.pick(-1, 10) is None     # the legend, outside
    again = latent_map(model, n=600)
    assert np.array_equal(again.xy, m.xy)                           # seeded: the same map every time
