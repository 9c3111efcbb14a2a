"""Interactive requests first: on a CPU the playground's training runs share the cores with
visitors moving sliders. Renders enter ``Foreground.request()``; training threads call
``yield_to()`` between steps and wait while any render is in flight, at most ``max_wait``
seconds per step so that a crowd of explorers slows training down but never stops it."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager


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

    def yield_to(self) -> float:
        """Block while interactive work runs (up to ``max_wait`` s); returns the seconds waited."""
        if self._idle.is_set():
            return 0.0
        t0 = time.perf_counter()
        self._idle.wait(self.max_wait)
        return time.perf_counter() - t0
