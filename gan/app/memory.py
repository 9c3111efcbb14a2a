"""Keep the server's memory flat under a crowd.

glibc gives every thread that allocates while another holds an arena its own malloc arena (up
to 8 per core). A Gradio server runs dozens of request threads, so freed tensors and images are
kept in many arenas and the resident size creeps up with the crowd. Two arenas keep it flat,
and no slower (README, Reliability, has the figures from ``python -m gan load``).

A training run frees its networks, optimizer state and batches when it ends, but glibc keeps
the freed pages inside its heaps unless they sit at a heap's top, so each run's end would leave
the server larger. ``release_free_memory()`` hands them back (malloc_trim), once per run.

Python's full garbage collections walk every tracked object: once the models, Gradio and
torch are loaded that is millions, and one full collection under a crowd stops every request
for a visible moment. ``settle_after_warm_up()`` moves what start-up
built into the permanent generation (``gc.freeze``, as CPython's docs advise for servers), so
later collections walk only what requests and runs create."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

M_ARENA_MAX = -8          # glibc's mallopt parameter


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def limit_malloc_arenas(n: int = 2) -> bool:
    """At most ``n`` malloc arenas from now on (MALLOC_ARENA_MAX, set in the process). False off
    glibc, or when the environment already sets MALLOC_ARENA_MAX (glibc then uses that)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        return bool(_libc().mallopt(M_ARENA_MAX, n))
    except (OSError, AttributeError):
        return False


def release_free_memory() -> bool:
    """Return the free pages inside malloc's heaps to the system (glibc's malloc_trim). False
    where there is no glibc, or nothing was released."""
    try:
        return bool(_libc().malloc_trim(0))
    except (OSError, AttributeError):
        return False


def settle_after_warm_up() -> int:
    """Collect start-up's garbage once, freeze what survives out of later collections and hand
    the freed pages back; returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    release_free_memory()
    return gc.get_freeze_count()
