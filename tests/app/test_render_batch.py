"""The render scheduler: concurrent renders of one model share forward passes, each visitor gets
exactly their own rows, a newer request supersedes an older queued one, shapes stay few."""
import threading

import numpy as np
import pytest
import torch

from gan.app.render_batch import BUCKETS, RenderBatcher, bucket
from tests.helpers import encoding_model, label_of


@pytest.fixture(scope="module")
def model():
    """A conditional stand-in whose every latent and label draws a different picture: a routing
    slip (another visitor's rows, rows out of order, the wrong digit) shows."""
    return encoding_model("cgan")


def assert_same_pictures(got, alone):
    assert got.shape == alone.shape
    assert [label_of(x) for x in got] == [label_of(x) for x in alone]
    assert np.abs(got.astype(int) - alone.astype(int)).max() <= 8     # bf16 sums in another order, same rows
    assert np.abs(got.astype(int) - alone.astype(int)).mean() < 0.5


def test_concurrent_renders_share_passes_and_get_their_own_rows(model):
    batcher = RenderBatcher(workers=1, window_s=0.05)
    asks = [(model.latents(seed, n), (torch.arange(n) + seed) % 10) for seed, n in enumerate((1, 7, 50, 3, 64, 12, 100, 9))]
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
        assert got.shape == (len(z), 28, 28)
        assert_same_pictures(got, model.generate(z, y, fast=True))


def test_interleaved_models_and_visitors_are_all_served(model):
    """Queued jobs of two models and many visitors, taken out of order, superseded in between:
    every request ends (no worker lost), each with its own model's rows."""
    other = encoding_model("dcgan")
    other.G.proj.weight.neg_()                                         # another model: other pictures
    batcher = RenderBatcher(workers=2, window_s=0.02, max_rows=6)      # some jobs wait behind others
    out, threads = {}, []
    for i in range(24):
        m = model if i % 2 else other
        z, y = m.latents(i, 1 + i % 5), ((torch.arange(1 + i % 5) + i) % 10 if m.conditional else None)
        threads.append(threading.Thread(target=lambda i=i, m=m, z=z, y=y: out.__setitem__(
            i, (m, z, y, batcher.generate(m, z, y, visitor=f"v{i % 7}")))))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request never ended"
    served = [v for v in out.values() if v[3] is not None]
    assert len(out) == 24 and len(served) >= 7                     # superseded ones return None
    for m, z, y, got in served:
        assert_same_pictures(got, m.generate(z, y, fast=True))


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

    threads = [threading.Thread(target=ask, args=("busy", 1, "a"))]
    threads[0].start()
    try:
        assert g.entered.wait(30)                                  # the worker is inside a pass
        threads.append(threading.Thread(target=ask, args=("older", 2, "b")))
        threads[-1].start()
        for _ in range(3000):
            if batcher._queue:
                break
            threading.Event().wait(0.005)
        threads.append(threading.Thread(target=ask, args=("newer", 3, "b")))
        threads[-1].start()
        threads[1].join(30)
        assert results["older"] is None                            # superseded before it ran
    finally:
        g.gate.set()                                               # never leaves a worker waiting
        for t in threads:
            t.join(30)
    assert (results["busy"] == 1).all() and (results["newer"] == 3).all()
    assert g.calls == [bucket(2), bucket(2)]                   # the superseded request never ran


class _Timed:
    """A stand-in generator that takes ``row_s`` seconds a row and logs (itself, rows) per pass."""
    conditional = False

    def __init__(self, row_s, log):
        self.row_s, self.log = row_s, log

    def generate(self, z, labels=None, fast=False):
        threading.Event().wait(self.row_s * len(z))
        self.log.append((self, len(z)))
        return np.zeros((len(z), 28, 28), np.uint8)


def _queue_behind_a_busy_worker(batcher, asks):
    """Start one pass that waits on a gate, queue ``asks`` [(model, rows)] in order behind it,
    then open the gate and wait for every render."""
    gate = _Gate()
    threads = [threading.Thread(target=batcher.generate, args=(gate, torch.zeros(1, 4)))]
    threads[0].start()
    try:
        assert gate.entered.wait(30)                               # the one worker is busy
        for m, n in asks:
            threads.append(threading.Thread(target=batcher.generate, args=(m, torch.zeros(n, 4))))
            threads[-1].start()
            while len(batcher._queue) < len(threads) - 1:
                threading.Event().wait(0.002)
    finally:
        gate.gate.set()
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads)


def _measured(batcher, *models):
    """Each model's cost measured once, then pinned to its nominal one: the decisions under test
    follow the costs, and a busy machine's oversleeping waits would change them."""
    for m in models:
        batcher.generate(m, torch.zeros(1, 4))
        assert id(m) in batcher._row_s                             # the pass measured it
        batcher._row_s[id(m)] = m.row_s
        m.log.clear()


def test_a_cheap_render_does_not_wait_behind_an_expensive_one():
    log = []
    slow, fast = _Timed(0.01, log), _Timed(0.0, log)
    batcher = RenderBatcher(workers=1, window_s=0.0, cheap_s=0.05)   # fast: 4 rows well under, slow: 32 rows far over
    _measured(batcher, slow, fast)
    _queue_behind_a_busy_worker(batcher, [(slow, 32), (fast, 4)])   # the expensive one asked first
    assert [m for m, _ in log] == [fast, slow]


def test_an_expensive_render_goes_before_a_cheaper_one_with_time_to_spare():
    log = []
    slow, medium = _Timed(0.002, log), _Timed(0.002, log)
    batcher = RenderBatcher(workers=1, window_s=0.0, cheap_s=0.01)   # neither is cheap: 10 rows ~0.03 s, 100 ~0.22 s
    _measured(batcher, slow, medium)
    _queue_behind_a_busy_worker(batcher, [(medium, 10), (slow, 100)])
    assert [m for m, _ in log] == [slow, medium]


def test_a_pass_merges_small_grids_but_not_two_expensive_ones():
    log = []
    slow, small = _Timed(0.002, log), _Timed(0.0005, log)
    batcher = RenderBatcher(workers=1, window_s=0.0, cheap_s=0.001, merge_s=0.05)
    _measured(batcher, slow, small)
    _queue_behind_a_busy_worker(batcher, [(slow, 50), (slow, 50), (small, 8), (small, 8), (small, 8)])
    passes = [(m, n) for m, n in log]
    assert passes.count((slow, bucket(50))) == 2                   # ~0.11 s each: side by side, not one 0.22 s pass
    assert (small, bucket(24)) in passes                           # three ~4 ms grids in one pass
    assert len(passes) == 3


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
    assert bucket(100) <= 112 and bucket(50) <= 56
    asked = range(1, 101)                                      # a crowd's 1-100 digits: little padding
    assert sum(bucket(n) for n in asked) / sum(asked) < 1.12


def test_a_visitors_next_render_after_a_finished_or_running_one_is_served(model):
    """Only a queued render is superseded: one that finished or is being drawn stays as it is."""
    batcher = RenderBatcher(workers=1, window_s=0.0)
    z = model.latents(1, 3)
    first = batcher.generate(model, z, torch.arange(3), visitor="v")
    again = batcher.generate(model, z, torch.arange(3), visitor="v")           # after a finished one
    assert first is not None and again is not None and np.array_equal(first, again)
    g, results = _Gate(), {}
    busy = threading.Thread(target=lambda: results.__setitem__("busy", batcher.generate(g, torch.ones(2, 4), visitor="w")))
    busy.start()
    try:
        assert g.entered.wait(30)                                              # "w"'s render is being drawn
        nxt = threading.Thread(target=lambda: results.__setitem__("next", batcher.generate(g, torch.full((2, 4), 2.0),
                                                                                            visitor="w")))
        nxt.start()
    finally:
        g.gate.set()
        busy.join(30)
    nxt.join(30)
    assert (results["busy"] == 1).all() and (results["next"] == 2).all()
