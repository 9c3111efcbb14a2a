"""Tests of gan/inference/explore.py."""
import numpy as np
import pytest

from gan.app import library as model_library
from tests.helpers import draw


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


def test_directions_are_unit_vectors_sorted_by_effect(library):
    model, ex = library.get("dcgan")
    d = ex.directions()
    assert d.shape == (8, model.mcfg.z_dim)
    assert np.allclose(d.norm(dim=1).numpy(), 1.0, atol=1e-5)
    base = draw(ex, 1, 64).astype(float)
    change = [np.abs(draw(ex, 1, 64, [0] * k + [2.0]).astype(float) - base).mean() for k in range(8)]
    assert change[0] > change[-1]                     # the first direction moves the pictures more
