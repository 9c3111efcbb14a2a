"""Tests of gan/app/pictures.py."""
import numpy as np
import pytest
from PIL import Image

from gan.app import inputs, pictures
from gan.app import library as model_library
from gan.app.requests import InterpolateRequest
from tests.helpers import draw


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


def test_render_seed_slider_digit(library):
    _, ex = library.get("cgan")
    a = draw(ex, 5, 20)
    assert a.dtype == np.uint8 and a.shape == (2 * 30 + 2, 10 * 30 + 2)
    assert np.array_equal(a, draw(ex, 5, 20))
    assert not np.array_equal(a, draw(ex, 6, 20))
    moved = draw(ex, 5, 20, [2.0])
    assert not np.array_equal(a, moved)
    assert not np.array_equal(draw(ex, 5, 4, digit=3), draw(ex, 5, 4, digit=4))
    assert not np.array_equal(moved, draw(ex, 5, 20, [2.0], raw=True))


def test_interpolation_strip_and_gif(library, tmp_path):
    model, _ = library.get("cgan")
    strip, frames = pictures.interpolation(model, InterpolateRequest("cgan", 1, 2, 6, "3", "8").parse())
    assert strip.shape == (32, 6 * 30 + 2) and frames.shape == (6, 28, 28)
    gif = pictures.write_gif(frames, tmp_path / "a.gif")
    img = Image.open(gif)
    assert img.n_frames == 10 and img.size == (112, 112)
    with pytest.raises(ValueError, match="frames"):
        pictures.interpolation(model, InterpolateRequest("cgan", 1, 2, 1000).parse())


def test_probe_classifies_a_real_digit(mnist_test):
    seven = mnist_test.images[0].numpy()
    assert mnist_test.labels[0] == 7
    res = pictures.probe(inputs.decode_drawing(seven))
    assert res["class"] == 7 and "real_score" not in res
