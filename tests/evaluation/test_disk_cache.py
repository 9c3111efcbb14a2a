"""Results kept between processes: computed once, read back whole, recomputed when damaged or
not what the caller expects; a shipped model's slider directions are one such result."""
import pytest
import torch

from gan.evaluation import disk_cache
from gan.inference.explore import Explorer
from gan.inference.sampling import load_generator


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entry(value=1.0):
    return {"x": torch.full((3,), value)}, {"note": "v"}


def _check(entry):
    tensors, meta = entry
    if tensors["x"].shape != (3,):
        raise ValueError("wrong shape")
    return tensors["x"], meta["note"]


def test_computed_once_then_read_back(cache):
    calls = []
    compute = lambda: calls.append(1) or _entry(2.0)    # noqa: E731
    first = disk_cache.cached("thing", b"key", compute, _check)
    again = disk_cache.cached("thing", b"key", compute, _check)
    assert calls == [1] and torch.equal(first[0], again[0]) and again[1] == "v"
    disk_cache.cached("thing", b"other key", compute, _check)
    assert calls == [1, 1] and len(list(cache.glob("thing-*.safetensors"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong-content"])
def test_a_damaged_or_unexpected_file_is_recomputed_and_replaced(cache, damage):
    disk_cache.cached("thing", b"key", _entry, _check)
    path = disk_cache.cache_path("thing", b"key")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x04not safetensors")
    else:
        from gan.engine.checkpoint import save_tensors
        save_tensors(path, {"x": torch.zeros(5)}, {"note": "v"})
    value = disk_cache.cached("thing", b"key", lambda: _entry(7.0), _check)
    assert torch.equal(value[0], torch.full((3,), 7.0))
    assert disk_cache.cached("thing", b"key", lambda: pytest.fail("not rewritten"), _check)[0][0] == 7.0


def test_an_unwritable_folder_still_computes(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GAN_CACHE_DIR", str(blocker / "cache"))
    assert disk_cache.cached("thing", b"key", _entry, _check)[1] == "v"


def test_shipped_directions_are_fitted_once_per_machine(cache, monkeypatch):
    model = load_generator("weights/one-digit.safetensors")
    fitted = Explorer(model, cache=True).pca_directions
    assert torch.equal(fitted, Explorer(model).pca_directions)                 # the same fit, kept
    monkeypatch.setattr(Explorer, "_fit_directions", lambda self: pytest.fail("fitted again"))
    assert torch.equal(Explorer(model, cache=True).pca_directions, fitted)   # a restarted app reads it
    other = load_generator("weights/one-digit.safetensors")
    with torch.no_grad():
        next(other.G.parameters()).add_(0.5)                                   # other weights, other entry
    with pytest.raises(pytest.fail.Exception, match="fitted again"):
        Explorer(other, cache=True).pca_directions


def test_a_fresh_machine_reads_the_shipped_fits_and_they_match_the_shipped_files(cache, monkeypatch):
    """weights/directions.safetensors holds every shipped model's fit, keyed by its weights (a
    changed file needs `gan adopt` or `gan.shipping.install.refresh_directions`); a fresh cache reads it, never fits."""
    from gan.app.library import ModelLibrary
    from gan.inference.explore import shipped_directions
    fresh = load_generator("weights/one-digit.safetensors")
    fitted_here = Explorer(fresh).pca_directions
    monkeypatch.setattr(Explorer, "_fit_directions", lambda self: pytest.fail("fitted on a fresh machine"))
    lib = ModelLibrary()
    for name in lib.names():
        explorer = lib.get(name)[1]
        assert explorer.pca_directions.shape == (8, explorer.model.mcfg.z_dim), name
    shipped = lib.get("one-digit")[1].pca_directions
    cosine = torch.nn.functional.cosine_similarity(shipped, fitted_here, dim=1).abs()
    assert (cosine > 0.99).all()                                    # the same fit (up to an SVD sign)
    other = load_generator("weights/one-digit.safetensors")
    with torch.no_grad():
        next(other.G.parameters()).add_(0.5)
    assert shipped_directions(lib.dir / "directions.safetensors", Explorer(other).cache_key()) is None
