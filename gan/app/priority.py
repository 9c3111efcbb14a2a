"""Interactive requests first: on a CPU the playground's training runs share the cores with
visitors moving sliders. Renders enter ``Foreground.request()``; training threads call
``yield_to()`` between steps and wait while any render is in flight, at most ``max_wait``
seconds per step so that a crowd of explorers slows training down but never stops it.

Waiting between steps cannot help while a step is running, and a step of a big preset (or its
preview grid) holds a core for tens of milliseconds. ``Foreground.background()`` therefore also
lowers the training thread's OS priority (its nice value; on Linux it is per thread, and the
thread's own worker threads created after it inherit it): the kernel then gives a core to a
render the moment one is ready, and the run takes whatever the renders leave."""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

BACKGROUND_NICE = 19        # the lowest CPU share (CFS weight 15 against a render's 1024)


class Foreground:
    def __init__(self, max_wait: float = 0.25):
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Event()
        self._idle.set()

    @contextmanager
    def request(self):
        with self._lock:
            self._busy += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()

    @property
    def busy(self) -> int:
        return self._busy

    def background(self) -> bool:
        """Call from a training thread before it starts its worker threads."""
        return lower_thread_priority(BACKGROUND_NICE)

    def yield_to(self) -> float:
        """Block while interactive work runs (up to ``max_wait`` s); returns the seconds waited."""
        if self._idle.is_set():
            return 0.0
        t0 = time.perf_counter()
        self._idle.wait(self.max_wait)
        return time.perf_counter() - t0


def lower_thread_priority(nice: int) -> bool:
    """Raise the calling thread's nice value to ``nice`` (never lowers it: that needs privileges).
    False where the OS has no per-thread priority."""
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        return os.getpriority(os.PRIO_PROCESS, tid) >= nice
    except (AttributeError, OSError):          # not a Linux-like system
        return False
