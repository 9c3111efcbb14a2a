"""Background torch work that ends before the process does.

A daemon thread still inside a torch call when Python finalizes kills the whole process: the thread
is cancelled while it waits for the interpreter lock, the unwinding meets torch's C++ frames and the
C++ runtime aborts ("terminate called without an active exception", exit status 134). The app's
background work - the warm-ups after start-up, every training run - starts through ``start``; at
exit, each such thread still alive is asked to stop (``stop``, when it has one) and waited for, up
to ``EXIT_WAIT_S`` in all. A server stopped with Ctrl+C during its first warm-up, or while a run
trains, then exits with status 0 after at most a step or a warm-up's remaining seconds.
"""
from __future__ import annotations

import atexit
import threading
import time
import weakref
from typing import Callable

EXIT_WAIT_S = 60.0

_live: "weakref.WeakKeyDictionary[threading.Thread, Callable[[], None] | None]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def start(target: Callable[[], None], name: str, stop: Callable[[], None] | None = None) -> threading.Thread:
    """Run ``target`` in a daemon thread that the process's exit stops (``stop()``) and waits for."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _lock:
        _live[thread] = stop
    thread.start()
    return thread


def running() -> list[threading.Thread]:
    with _lock:
        return [t for t in _live if t.is_alive()]


@atexit.register
def finish_all(timeout: float | None = None) -> None:
    """Stop every background thread that can be stopped, then wait for all of them (``EXIT_WAIT_S``)."""
    with _lock:
        live = [(t, stop) for t, stop in _live.items() if t.is_alive()]
    for _, stop in live:
        if stop is not None:
            stop()
    end = time.monotonic() + (EXIT_WAIT_S if timeout is None else timeout)
    for thread, _ in live:
        thread.join(max(0.0, end - time.monotonic()))
