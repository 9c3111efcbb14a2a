import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# the evaluator's reference cache: one per test session (its subprocesses share it), never the user's
os.environ.setdefault("GAN_CACHE_DIR", tempfile.mkdtemp(prefix="gan-test-cache-"))
torch.set_num_threads(min(2, os.cpu_count() or 1))

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = Path(os.environ.get("GAN_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))  # (mutmut runs from a copy)

# small architectures so every preset trains in milliseconds on a CPU (each preset's own tiny_model)
def _tiny_models() -> dict:
    from gan.models.registry import get_preset, preset_names
    return {name: get_preset(name).tiny_model for name in preset_names()}


TINY = _tiny_models()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (still part of the default run)")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
    config.addinivalue_line("markers", "browser: drives Debian's Chromium")
    # Gradio's queue calls two pandas APIs that pandas 3 deprecates (gradio/queueing.py); not ours to fix
    config.addinivalue_line("filterwarnings", "ignore:'future.no_silent_downcasting' is deprecated")
    config.addinivalue_line("filterwarnings", "ignore:The copy keyword is deprecated")


def _fastest_first_for_a_mutant(items):
    """Under `mutmut run`, run a mutant's tests in order of their recorded times, a module at a
    time (its fixtures are built once): most mutants fail a quick test, and `-x` stops there."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from its mutants/ copy
    if "__mutmut_" not in mutant or not stats.is_file():
        return
    import json
    seconds = json.loads(stats.read_text()).get("duration_by_test", {})
    module = lambda item: getattr(getattr(item, "module", None), "__name__", "")  # noqa: E731
    per_module: dict[str, float] = {}
    for item in items:
        per_module[module(item)] = per_module.get(module(item), 0.0) + seconds.get(item.nodeid, 0.0)
    items.sort(key=lambda item: (per_module[module(item)], module(item), seconds.get(item.nodeid, 0.0)))


# Long runs in their own processes whose tests only read their verdict start when collection ends,
# scheduled as idle work (SCHED_IDLE; nice 19 without chrt): they use what the in-process tests
# leave idle (server and browser waits) and yield the CPU to everything else, the app's niced
# training threads included. A module declares them with ``start_early()``.
_EARLY: dict[str, tuple[subprocess.Popen, IO[str], IO[str]]] = {}


def early_process(key: str, args: list[str], **kwargs) -> tuple[subprocess.Popen, IO[str], IO[str]]:
    """The process started under ``key`` (started now if it was not yet), with files for its output."""
    if key not in _EARLY:
        nice = ["chrt", "--idle", "0"] if shutil.which("chrt") else ["nice", "-n", "19"] if shutil.which("nice") else []
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")   # pipes nobody reads could fill
        _EARLY[key] = subprocess.Popen(nice + [sys.executable, *args], stdout=out, stderr=err, text=True, **kwargs), out, err
    return _EARLY[key]


def finished(key: str, args: list[str], timeout: float, **kwargs) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of that process, started now if collection did not start it.
    A test waiting on it has nothing else to do, so it stops being idle work from here on: beside
    busy processes an idle one would otherwise never get a core."""
    proc, out, err = early_process(key, args, **kwargs)
    hurry(proc.pid)
    proc.wait(timeout)
    out.seek(0), err.seek(0)
    return proc.returncode, out.read(), err.read()


def hurry(pid: int) -> None:
    """Every thread of ``pid`` back to the normal scheduling class at nice 0 (where permitted)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return
    for tid in tids:
        try:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, tid, 0)
        except (AttributeError, OSError):
            pass


def pytest_collection_finish(session):
    by_module: dict = {}
    for item in session.items:
        by_module.setdefault(getattr(item, "module", None), []).append(item)
    for module, items in by_module.items():
        if hasattr(module, "start_early"):
            module.start_early(items)               # the module's selected tests: it starts what they need


def pytest_sessionfinish(session):
    # test modules import this file as tests.conftest, pytest as conftest: the registry is tests.conftest's
    registry = getattr(sys.modules.get("tests.conftest"), "_EARLY", _EARLY)
    for proc, _, _ in registry.values():       # a failed or deselected test never leaves one running
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def pytest_collection_modifyitems(config, items):
    _fastest_first_for_a_mutant(items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fake_digits():
    from tests.fake_mnist import synthetic_digits
    return synthetic_digits(600, seed=0)


@pytest.fixture(scope="session")
def mnist_dir():
    if not SHARED_MNIST.is_dir():
        pytest.fail(f"the shared MNIST files are missing at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    from gan.engine.data import load_mnist
    return load_mnist("test", mnist_dir)


def tiny_config(preset, **kw):
    from gan.engine.config import TrainConfig
    kw.setdefault("steps", 3)
    kw.setdefault("batch_size", 16)
    kw.setdefault("log_every", 1)
    kw.setdefault("device", "cpu")
    if preset == "cs231n":
        kw.setdefault("d_pretrain_steps", 2)
    return TrainConfig.for_preset(preset, model=dict(TINY[preset]), **kw)


@pytest.fixture
def tiny():
    return tiny_config


@contextlib.contextmanager
def registered_loss(*args, **kwargs):
    """A ``gan.engine.losses.Loss(*args, **kwargs)`` registered for the block's duration, then removed."""
    from gan.engine import losses
    rec = losses.register_loss(losses.Loss(*args, **kwargs))
    try:
        yield rec
    finally:
        del losses.LOSSES[rec.name]


@pytest.fixture
def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@contextlib.contextmanager
def open_browser(chromium):
    """Debian's Chromium, headless, closed however the test ends."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(server, chromium):
    """A desktop-sized page of Chromium (the browser closes with the test)."""
    with open_browser(chromium) as browser:
        yield browser.new_page(viewport={"width": 1400, "height": 1200})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real app (app.py) served on loopback, with runs of at most a minute and two training slots."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    os.environ["GAN_MAX_RUN_SECONDS"] = "60"      # the runs' own lengths end them, also on a slow machine
    os.environ["GAN_MAX_CONCURRENT_RUNS"] = "2"
    os.environ["GAN_MAX_UPLOAD_MB"] = "1"
    from gan.app.threads import process_threads, set_process_threads
    threads = process_threads()
    import app  # a CPU server sets one torch thread per request thread...
    set_process_threads(threads)            # ...the rest of this process's tests keep their cores
    app.PLAY.warm_up.join(timeout=120)      # steady state, as after a deployed app's start-up: timed runs don't share the CPU with it
    _, url, _ = app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                                css=app.CSS, js=app.JS)
    yield app, url
    app.demo.close()


@pytest.fixture
def client(server):
    from gradio_client import Client
    c = Client(server[1], verbose=False)
    yield c
    release(c)


def release(*clients) -> None:
    """Close gradio clients without waiting on them: ``Client.close()`` joins its heartbeat thread
    for up to 1 s, and that thread only sees the close at the server's next heartbeat line (1 s
    per test, ~50 s a suite). The close is started; each thread ends at that line by itself."""
    for c in clients:
        threading.Thread(target=c.close, name="close-client", daemon=True).start()


def new_client(server):
    from gradio_client import Client
    return Client(server[1], verbose=False)
