"""Tests of gan/app/memory.py."""
import os


def test_free_heap_pages_go_back_to_the_system_on_glibc():
    import ctypes
    import platform

    from gan.app.memory import release_free_memory
    if not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"):
        assert release_free_memory() is False
        return
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def rss_mb():
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    blocks = [libc.malloc(64 << 10) for _ in range(1600)]          # 100 MB in heap-sized blocks
    for b in blocks:
        ctypes.memset(b, 1, 64 << 10)
    for b in blocks[:-1]:                                          # the last one pins the heap's top
        libc.free(b)
    before = rss_mb()
    assert release_free_memory() is True
    assert before - rss_mb() > 50
    libc.free(blocks[-1])


def test_after_warm_up_full_collections_skip_what_start_up_built():
    import gc

    from gan.app.memory import settle_after_warm_up

    class Node:
        pass
    built = [Node() for _ in range(1000)]                           # start-up's objects
    for a, b in zip(built, built[1:]):
        a.next = b
    frozen = settle_after_warm_up()                  # (left frozen: the test process is a server too)
    assert frozen >= 1000 and gc.get_freeze_count() >= 1000
    assert not any(o is built[0] for o in gc.get_objects(generation=2))   # no longer walked
    later = Node()
    assert any(o is later for o in gc.get_objects())                    # new objects still are


def test_the_server_bounds_malloc_arenas_on_glibc(monkeypatch):
    import platform

    from gan.app.memory import limit_malloc_arenas
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas() == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False                  # the environment's own setting wins
