"""The render scheduler: concurrent renders of one model share forward passes, each visitor gets
exactly their own rows, a newer request supersedes an older queued one, shapes stay few."""
import threading

import numpy as np
import pytest
import torch

from gan.app.render_batch import BUCKETS, RenderBatcher, bucket
from gan.sampling import GeneratorModel


@pytest.fixture(scope="module")
def model(tmp_path_factory, fake_digits):
    from conftest import tiny_config
    from gan.loop import train
    from gan.sampling import load_generator
    t = train(tiny_config("cgan", steps=2), data=fake_digits).trainer
    path = tmp_path_factory.mktemp("g") / "g.safetensors"
    t.export_generator(path)
    return load_generator(path)


def test_concurrent_renders_share_passes_and_get_their_own_rows(model):
    batcher = RenderBatcher(workers=1, window_s=0.05)
    asks = [(model.latents(seed, n), torch.full((n,), seed % 10)) for seed, n in enumerate((1, 7, 50, 3, 64, 12, 100, 9))]
    out = [None] * len(asks)

    def visit(i):
        out[i] = batcher.generate(model, *asks[i], visitor=f"v{i}")

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(len(asks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert batcher.rows == sum(len(z) for z, _ in asks)
    assert batcher.batches < len(asks), "no two renders were merged"
    for (z, y), got in zip(asks, out):
        alone = model.generate(z, y, fast=True)
        assert got.shape == alone.shape == (len(z), 28, 28)
        assert np.abs(got.astype(int) - alone.astype(int)).max() <= 8     # bf16 sums in another order, same digits
        assert np.abs(got.astype(int) - alone.astype(int)).mean() < 0.5


class _Gate:
    """A stand-in generator whose forward pass waits for the test to open the gate."""
    conditional = False

    def __init__(self):
        self.entered, self.gate, self.calls = threading.Event(), threading.Event(), []

    def generate(self, z, labels=None, fast=False):
        self.calls.append(len(z))
        self.entered.set()
        self.gate.wait(30)
        return np.zeros((len(z), 28, 28), np.uint8) + z[:, :1].numpy().astype(np.uint8)[:, :, None]


def test_a_newer_request_supersedes_the_visitors_queued_one():
    g, batcher = _Gate(), RenderBatcher(workers=1, window_s=0.0)
    results = {}

    def ask(name, value, visitor):
        results[name] = batcher.generate(g, torch.full((2, 4), float(value)), visitor=visitor)

    first = threading.Thread(target=ask, args=("busy", 1, "a"))
    first.start()
    assert g.entered.wait(30)                                  # the worker is inside a pass
    older = threading.Thread(target=ask, args=("older", 2, "b"))
    older.start()
    while not batcher._queue:
        threading.Event().wait(0.005)
    newer = threading.Thread(target=ask, args=("newer", 3, "b"))
    newer.start()
    older.join(30)
    assert results["older"] is None                            # superseded before it ran
    g.gate.set()
    for t in (first, newer):
        t.join(30)
    assert (results["busy"] == 1).all() and (results["newer"] == 3).all()
    assert g.calls == [bucket(2), bucket(2)]                   # the superseded request never ran


def test_an_error_reaches_every_visitor_of_that_pass():
    class Broken(_Gate):
        def generate(self, z, labels=None, fast=False):
            raise RuntimeError("kaputt")

    with pytest.raises(RuntimeError, match="kaputt"):
        RenderBatcher(workers=1).generate(Broken(), torch.zeros(3, 4))


def test_batches_are_padded_to_a_few_shapes():
    sizes = {bucket(n) for n in range(1, 1001)}
    assert all(bucket(n) >= n for n in range(1, 1001))
    assert len(sizes) <= len(BUCKETS) + 3
    assert bucket(100) <= 128 and bucket(50) <= 64
