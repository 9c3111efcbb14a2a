"""Tests of gan/app/library.py."""
import re

import pytest

from gan.app import library as model_library
from tests.helpers import draw


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


def test_library_lists_every_shipped_preset_default_first(library):
    names = library.names()
    assert names[0] == model_library.DEFAULT_MODEL
    assert set(names) == {"vanilla", "dcgan", "keras-dcgan", "cs231n", "one-digit", "cgan", "wgan-gp"}


def test_model_labels_are_short_and_speak_a_learners_words(library):
    for name in library.names():
        label, card = library.label(name), library.card_line(name)
        assert label.startswith(f"{name} - ") and len(label) <= 48, label
        assert re.search(r"\((excellent|good|fair|rough|poor)\)$", label), label
        assert "Short of its goal" not in card and "modes" not in card and card.startswith("Quality: **"), card
    assert "draws digit 0 (" in library.card_line("one-digit")


@pytest.mark.parametrize("m, word", [
    ({"fid_ratio": 2.0}, "excellent"), ({"fid_ratio": 2.01}, "good"), ({"fid_ratio": 5.0}, "good"),
    ({"fid_ratio": 15.0}, "fair"), ({"fid_ratio": 60.0}, "rough"), ({"fid_ratio": 60.1}, "poor"),
    ({"fid_ratio": 900.0, "digit_share": 0.97}, "excellent"), ({"fid_ratio": 1.0, "digit_share": 0.969}, "good"),
    ({"fid_ratio": 1.0, "digit_share": 0.89}, "fair"),
])
def test_quality_words_follow_the_fid_ratio_or_the_digit_share(m, word):
    assert model_library.quality_word(m) == word


def test_shipped_models_render_in_int8_only_where_measured_accurate(library):
    model, _ = library.get("keras-dcgan")
    report = library.int8_reports["keras-dcgan"]
    if report.get("reason") == "no 8-bit dot products on this device":
        pytest.skip("int8 renders need VNNI")
    assert report["layers"] and report["error_mean"] <= 1.0      # its three big convolutions, accurate
    assert (model.fast_G is not None) == report["used"]
    library.get("vanilla")
    assert library.int8_reports["vanilla"] == {"used": False, "reason": "no convolution big enough"}
    plain = model_library.ModelLibrary(int8=False)
    assert plain.get("keras-dcgan")[0].fast_G is None and plain.int8_reports == {}


def test_a_crowd_fits_the_slider_directions_once(library, monkeypatch):
    import threading

    from gan.inference.explore import Explorer
    ex = Explorer(library.get("dcgan")[0])
    fits, real = [], Explorer._fit_directions
    monkeypatch.setattr(Explorer, "_fit_directions", lambda self: fits.append(1) or real(self))
    threads = [threading.Thread(target=lambda: draw(ex, 1, 4, [1.0])) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fits) == 1
