"""Tests of gan/app/priority.py."""
import os
import sys
import threading
import time

import pytest

from gan.app.control import RunControl
from gan.app.priority import BACKGROUND_NICE, Foreground


def test_training_waits_while_a_render_is_in_flight_but_never_starves():
    fg = Foreground(max_wait=0.3)
    assert fg.yield_to() == 0.0                              # nobody exploring: no wait at all
    entered, release = threading.Event(), threading.Event()

    def render():
        with fg.request():
            entered.set()
            release.wait(5)
    t = threading.Thread(target=render)
    t.start()
    try:
        entered.wait(5)
        assert fg.busy == 1
        waited = fg.yield_to()                                   # a render that outlasts max_wait
        assert 0.25 <= waited < 1.0
        threading.Timer(0.1, release.set).start()               # the render ends after 0.1 s...
        waited = fg.yield_to()
        assert 0.05 <= waited < 0.25                             # ...and training goes on right then
    finally:
        release.set()
        t.join(5)
    assert fg.busy == 0 and fg.yield_to() == 0.0


def test_run_control_yields_without_counting_it_as_pause():
    fg = Foreground(max_wait=0.2)

    class FakeTrainer:
        def set_lr(self, **kw):
            pass
    with fg.request():
        t0 = time.perf_counter()
        waited, stepped = RunControl(foreground=fg).wait(FakeTrainer())
        assert time.perf_counter() - t0 >= 0.15
    assert waited == 0.0 and not stepped                     # counted against the run's length


def _in_thread(fn):
    out = {}

    def body():
        out["value"] = fn()
    t = threading.Thread(target=body)
    t.start()
    t.join(10)
    return out["value"]


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not hasattr(os, "getpriority") or sys.platform != "linux", reason="per-thread nice is Linux's")
def test_a_yielding_run_trains_at_the_lowest_os_priority_and_its_workers_inherit_it():
    class FakeTrainer:
        def set_lr(self, **kw):
            pass
    before = _nice()

    def training_thread(foreground):
        control = RunControl(foreground=foreground, tune_threads=True)
        try:
            control.wait(FakeTrainer())
            return _nice(), _in_thread(_nice)               # and a worker it starts afterwards
        finally:
            control.close()                                 # as a run's end does: the default thread count back
    assert _in_thread(lambda: training_thread(Foreground())) == (BACKGROUND_NICE, BACKGROUND_NICE)
    assert _nice() == before                                # the server's own threads keep theirs
    assert _in_thread(lambda: training_thread(None)) == (before, before)   # no renders to yield to
