"""The evaluator's reference (MNIST test-set features and real-data floors): computed once, then
read from a cache file by every later process; an unreadable cache is recomputed, never trusted."""
import pytest
import torch

from gan.evaluation import evaluate
from tests.helpers import SHARED_MNIST

N = 300


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    evaluate._reference.cache_clear()
    yield tmp_path / "cache"
    evaluate._reference.cache_clear()


def _fresh(**kw):
    evaluate._reference.cache_clear()                 # as a new process would start
    return evaluate.reference(N, data_dir=str(SHARED_MNIST), **kw)


def test_the_reference_is_computed_once_then_read_back_whole(cache, monkeypatch):
    first = _fresh()
    files = list(cache.glob("reference-*.safetensors"))
    assert len(files) == 1
    monkeypatch.setattr(evaluate, "embed", lambda *a, **k: pytest.fail("recomputed despite the cache"))
    again = _fresh()
    assert set(again) == set(first)
    for k, v in first.items():
        assert torch.equal(again[k], v) if torch.is_tensor(v) else again[k] == v, k
    assert first["feats"].shape == (N, 128) and first["floor_fid"] > 0 and first["real_score"] > 9


def test_another_classifier_gets_its_own_cache_entry(cache, tmp_path):
    _fresh()
    other = tmp_path / "clf.safetensors"
    other.write_bytes(evaluate.DEFAULT_WEIGHTS.read_bytes())
    _fresh(classifier_path=str(other))                   # same bytes: the same entry
    assert len(list(cache.glob("reference-*"))) == 1
    from gan.engine.checkpoint import read_tensors, save_tensors
    tensors, meta = read_tensors(other)
    tensors = {k: v + 0.01 if v.is_floating_point() else v for k, v in tensors.items()}
    save_tensors(other, tensors, meta)
    _fresh(classifier_path=str(other))
    assert len(list(cache.glob("reference-*"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing-key"])
def test_a_damaged_cache_file_is_recomputed_and_replaced(cache, damage):
    good = _fresh()
    (path,) = cache.glob("reference-*.safetensors")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x04not a safetensors file")
    else:
        from gan.engine.checkpoint import read_tensors, save_tensors
        tensors, meta = read_tensors(path)
        save_tensors(path, {k: v for k, v in tensors.items() if k != "train_feats"}, meta)
    again = _fresh()
    assert torch.equal(again["feats"], good["feats"]) and again["floor_fid"] == good["floor_fid"]
    from gan.engine.checkpoint import read_tensors
    assert evaluate._as_reference(read_tensors(path))["feats"].shape == (N, 128)   # rewritten whole


def test_an_unwritable_cache_folder_still_evaluates(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GAN_CACHE_DIR", str(blocker / "cache"))   # cannot be created
    evaluate._reference.cache_clear()
    try:
        ref = evaluate.reference(N, data_dir=str(SHARED_MNIST))
    finally:
        evaluate._reference.cache_clear()
    assert ref["feats"].shape == (N, 128)


def test_precision_uses_the_references_radii_computed_once(cache, monkeypatch):
    from gan.evaluation import metrics
    ref = _fresh()
    monkeypatch.setattr(evaluate, "reference", lambda n: ref)
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(200, 28, 28, generator=g) * 255).to(torch.uint8)
    radii_of = []
    real_radius = metrics.kth_nn_radius
    monkeypatch.setattr(metrics, "kth_nn_radius", lambda f, k: radii_of.append(len(f)) or real_radius(f, k))
    first, second = evaluate.score_images(images, n_ref=N), evaluate.score_images(images, n_ref=N)
    assert radii_of == [N, 200, 200]                 # the reals' radii once, the fakes' every time
    feats, _ = evaluate.embed(images, evaluate.load_classifier())
    monkeypatch.setattr(metrics, "kth_nn_radius", real_radius)
    want = metrics.precision_recall(ref["feats"], feats)
    assert (first["precision"], first["recall"]) == (second["precision"], second["recall"]) == want
