"""The suite's fixtures (its hooks: tests/plugin.py; what modules import: tests/helpers.py)."""
import os
import shutil

import pytest
from gradio_client import Client

from gan.app.threads import process_threads, set_process_threads
from gan.engine.data import load_mnist
from tests.helpers import SHARED_MNIST, free_port, open_browser, release, synthetic_digits, tiny_config


@pytest.fixture(scope="session")
def fake_digits():
    return synthetic_digits(600, seed=0)


@pytest.fixture(scope="session")
def mnist_dir():
    if not SHARED_MNIST.is_dir():
        pytest.fail(f"the shared MNIST files are missing at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    return load_mnist("test", mnist_dir)


@pytest.fixture
def tiny():
    return tiny_config


@pytest.fixture
def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture
def page(server, chromium):
    """A desktop-sized page of Chromium (the browser closes with the test)."""
    with open_browser(chromium) as browser:
        yield browser.new_page(viewport={"width": 1400, "height": 1200})


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real app (app.py) served on loopback, with runs of at most a minute and two training slots."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    os.environ["GAN_MAX_RUN_SECONDS"] = "60"      # the runs' own lengths end them, also on a slow machine
    os.environ["GAN_MAX_CONCURRENT_RUNS"] = "2"
    os.environ["GAN_MAX_UPLOAD_MB"] = "1"
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
    c = Client(server[1], verbose=False)
    yield c
    release(c)
