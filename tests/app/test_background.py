"""Background torch work ends before the process does (gan/app/background.py): a daemon thread
still inside torch when Python finalizes aborts the process with status 134."""
import subprocess
import sys
import textwrap

from gan.app import background
from tests.helpers import ROOT

BUSY = textwrap.dedent("""
    import sys, threading, time, torch
    from gan.app import background
    torch.set_num_threads(1)
    stop, started = threading.Event(), threading.Event()
    def work():                                   # torch calls back to back, each releasing the GIL
        a = torch.randn(300, 300)
        while not stop.is_set():
            started.set()
            a = torch.tanh(a @ a)
    how = sys.argv[1]
    if how == "plain":
        threading.Thread(target=work, daemon=True).start()
    elif how == "stoppable":
        background.start(work, "busy", stop=stop.set)
    else:                                         # no way to stop it: it ends by itself in a second
        background.start(lambda: (time.sleep(1.0), stop.set(), print("finished", flush=True)), "ending")
        background.start(work, "busy-till-then")
    started.wait(30)
    print("exiting", flush=True)
""")


def _exit(how):
    return subprocess.run([sys.executable, "-c", BUSY, how], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_plain_daemon_thread_inside_torch_at_exit_aborts_the_process():
    """Why the module exists (if this passes no more, torch or Python changed and it may go)."""
    p = _exit("plain")
    assert "exiting" in p.stdout and p.returncode != 0, (p.returncode, p.stderr[-500:])


def test_background_work_is_stopped_and_waited_for_at_exit():
    p = _exit("stoppable")
    assert p.returncode == 0 and "exiting" in p.stdout, (p.returncode, p.stderr[-500:])
    p = _exit("ends-by-itself")
    assert p.returncode == 0 and p.stdout.split() == ["exiting", "finished"], (p.returncode, p.stderr[-500:])


def test_a_training_run_is_background_work_that_the_exit_stops(fake_digits):
    from gan.app.limits import Limits
    from gan.app.runs import Session, start_run
    from tests.helpers import tiny_config
    run, thread = start_run(Session(Limits(1, 60, 100, 20, 2)), tiny_config("vanilla", steps=None, seconds=60),
                            fake_digits, quality_every=0)
    assert thread in background.running()
    background.finish_all(timeout=30)
    assert not thread.is_alive() and run.status == "aborted"


def test_the_apps_warm_up_is_background_work_that_the_exit_stops_between_models(monkeypatch, tmp_path):
    """A server stopped during start-up does not first load every model and the evaluator's features."""
    import threading

    from gan.app import handlers, library
    from gan.app.handlers import Playground
    loading, loaded = threading.Event(), []

    class SlowLibrary:
        def names(self):
            return ["a", "b", "c"]

        def get(self, name):                     # a model's load, which the exit comes during
            loading.set()
            loaded.append(name)
            play._stop_warming.wait(30)

    monkeypatch.setattr(library, "reference", lambda: loaded.append("reference"))
    monkeypatch.setattr(handlers, "limit_malloc_arenas", lambda: None)
    monkeypatch.setattr(handlers, "one_thread_per_request", lambda: None)
    play = Playground(library=SlowLibrary(), tmp=tmp_path).start()
    assert loading.wait(30)
    background.finish_all(timeout=30)
    assert not play.warm_up.is_alive() and loaded == ["a"]
    assert not [t for t in background.running() if t.name == "warm-maps"]
