"""Tests of gan/tools/crowd.py's render clients: the page's queue-free request and gradio_client's
queued one reach the same render (``python -m gan load --clients page|api|both``)."""
import threading

import pytest

from gan.app.requests import RenderRequest, api_call
from gan.tools.crowd import RENDER_CLIENTS


@pytest.mark.parametrize("via", ["page", "api"])
def test_both_render_clients_get_the_grid_and_hear_a_refusal_by_name(server, via):
    client = RENDER_CLIENTS[via](server[1])
    try:
        out = client.predict(**api_call(RenderRequest("cgan", seed=3, n=4)))
        grid = out[0] if isinstance(out, list) else out
        assert (grid.get("path") or grid.get("url") if isinstance(grid, dict) else grid).endswith(".png")
        with pytest.raises(Exception, match=r"\bseed\b"):
            client.predict(**api_call(RenderRequest("cgan", seed=-1, n=4)))
    finally:
        client.close()


class _Now(threading.Event):
    """A stop event whose waits between a visitor's moves return at once."""

    def wait(self, timeout=None):
        return self.is_set()


def _stand_in_clients(monkeypatch, refuse_by_name=True):
    """A render client that records what the visitor sent and refuses a bad value as the app
    does (naming the field), or with a message that does not name it."""
    from gan.tools import crowd
    sent = []

    class Client:
        def __init__(self, url):
            pass

        def predict(self, **call):
            sent.append(call)
            bad = [k for k, v in call.items() if (k, v) in crowd.BAD_VALUES]
            if bad:
                raise ValueError(f"{bad[0]} is not valid" if refuse_by_name else "something went wrong")
            return "grid.png"

        def close(self):
            pass
    monkeypatch.setitem(crowd.RENDER_CLIENTS, "page", Client)
    return sent


@pytest.mark.parametrize("profile", ["uniform", "mixed"])
def test_an_explorer_asks_what_its_profile_says(profile, monkeypatch):
    from gan.tools.crowd import BAD_VALUES, Tally, explorer
    sent, tally = _stand_in_clients(monkeypatch), Tally()
    for seed in range(4):                          # four visitors of 50 requests each
        tally.requests = 0
        explorer("http://x", _Now(), tally, max_requests=50, seed=seed, profile=profile,
                 models=["dcgan", "vanilla", "cgan"])
    assert len(sent) == 200 and tally.errors == []
    good = [c for c in sent if not any((k, v) in BAD_VALUES for k, v in c.items())]
    assert len(good) == 200 - tally.bad_refused
    models, sizes = {c["model"] for c in good}, {c["n"] for c in good}
    if profile == "uniform":                       # one model, 50 digits, only good values
        assert models == {"cgan"} and sizes == {50} and tally.bad_refused == 0
        assert set(tally.latencies) == {"cgan"} and len(tally.latencies["cgan"]) == 200
    else:                                          # every model, 1-100 digits, about one bad value in ten
        assert models == {"cgan", "dcgan", "vanilla"} and len(sizes) > 5 and max(sizes) <= 100
        assert 5 <= tally.bad_refused <= 40 and sum(map(len, tally.latencies.values())) == 200 - tally.bad_refused


def test_a_bad_value_refused_without_its_name_or_accepted_is_an_error(monkeypatch):
    from gan.tools import crowd
    _stand_in_clients(monkeypatch, refuse_by_name=False)
    tally = crowd.Tally()
    crowd.explorer("http://x", _Now(), tally, max_requests=200, seed=1, profile="mixed", models=["cgan"])
    assert tally.bad_refused == 0 and len(tally.errors) >= 5
    assert all(e.startswith("render ") and "ValueError: something went wrong" in e for e in tally.errors)


class _Job:
    """A /train job that says ``statuses`` in turn (the last one for ever) and ends when cancelled."""

    def __init__(self, statuses):
        self.statuses, self.cancelled = list(statuses), False

    def outputs(self):
        if len(self.statuses) > 1:
            self.statuses.pop(0)
        return [(self.statuses[0],)]

    def done(self):
        return self.cancelled

    def cancel(self):
        self.cancelled = True


@pytest.mark.parametrize("running", [False, True])
def test_at_the_end_a_queued_visitor_goes_home_and_a_training_one_waits_for_the_run(running):
    import threading

    from gan.app.requests import TrainRequest
    from gan.tools.crowd import submit_and_wait
    job, stop = _Job(["queued", "Step 1 - running"] if running else ["queued"]), threading.Event()
    stop.set()
    client = type("C", (), {"submit": lambda self, **kw: job})()
    waited = threading.Thread(target=lambda: out.append(submit_and_wait(client, TrainRequest(), poll=0.01, stop=stop)),
                              daemon=True)
    out: list = []
    waited.start()
    waited.join(1.0)
    if running:                                     # its run goes on to its end (here: never)
        assert waited.is_alive() and not job.cancelled
        job.cancelled = True                        # (ends the test's stand-in)
        waited.join(5)
    else:
        assert out == [(job, None, True)] and job.cancelled
