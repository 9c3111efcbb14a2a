"""Keep the server's memory flat under a crowd.

glibc gives every thread that allocates while another holds an arena its own malloc arena (up
to 8 per core). A Gradio server runs dozens of request threads, so freed tensors and images are
kept in many arenas and the resident size creeps up with the crowd (measured: +186 MB in the
second minute of ``python -m gan load``). Two arenas kept the same crowd flat, and no slower
(README, Reliability)."""
from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8          # glibc's mallopt parameter


def limit_malloc_arenas(n: int = 2) -> bool:
    """At most ``n`` malloc arenas from now on (MALLOC_ARENA_MAX, set in the process). False off
    glibc, or when the environment already sets MALLOC_ARENA_MAX (glibc then uses that)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, n))
    except (OSError, AttributeError):
        return False
