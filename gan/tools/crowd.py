"""The visitors ``python -m gan load`` sends: explorers (two profiles) and trainers, each a
thread with its own connection, all tallied in one ``Tally``. Explorers post their renders
as the page does (``PageRenders``: the render events skip Gradio's queue, one HTTP request
each) or as an API client does (``ApiRenders``: gradio_client, through the queue); trainers use
gradio_client's queued, streaming calls, as the page's Start does.

mixed (the default): each explorer uses any shipped model with 1-100 digits, changes something
every 0.2-0.8 s (mostly sliders; seeds, digits, counts, sometimes the model), and one request in
ten carries a bad value (a list, a dict, "nan", "1e999", a boolean, a huge number) that the
server must refuse with a message naming the field. Trainers start short runs back to back;
trainer 0 leaves each of its runs half way (cancels it and closes its session).
cgan50: the earlier profile, every explorer moving 50-digit cgan grids every 0.5-1.5 s.
"""
from __future__ import annotations

import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from gan.app.requests import RenderRequest, TrainRequest, api_call

BAD_VALUES = (   # (field, value a script might send)
    ("s1", [1, 2]), ("s3", "1e999"), ("s5", {"x": 1}), ("seed", "nan"), ("seed", 10**12), ("seed", True),
    ("n", True), ("n", {"a": 1}), ("n", -5), ("n", 1e300), ("digit", "eleven"), ("digit", [3]), ("raw", "yes"),
    ("model", ["cgan"]), ("model", "stylegan9"),
)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)   # model -> render ms
    by_client: dict[str, list[float]] = field(default_factory=dict)   # "page" | "api" -> render ms
    errors: list[str] = field(default_factory=list)
    bad_refused: int = 0                                             # bad values refused, naming the field
    runs: list[dict] = field(default_factory=list)                   # one per training run
    memory: list[tuple[float, float]] = field(default_factory=list)   # (t, server RSS MB)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, limit: int) -> bool:
        with self.lock:
            self.requests += 1
            return self.requests <= limit

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[:300])


class PageRenders:
    """One visitor's page asking for renders: ``POST {url}gradio_api/run/render`` with its session,
    the request the browser sends for a queue-free event. Errors raise with the server's message."""

    def __init__(self, url: str):

        import httpx
        self.http = httpx.Client(base_url=url.rstrip("/") + "/gradio_api/", timeout=60)
        self.session = uuid.uuid4().hex[:11]

    def predict(self, **call) -> dict:
        r = self.http.post("run/render", json={"data": list(call.values()), "session_hash": self.session})
        body = r.json()
        if r.status_code != 200 or "error" in body:
            raise RuntimeError(body.get("error") or f"HTTP {r.status_code}")
        return body["data"]

    def close(self) -> None:
        self.http.close()


class ApiRenders:
    """An API client asking for renders as the Space's "Use via API" page shows it: gradio_client's
    ``predict(..., api_name="/render")``, which always goes through Gradio's queue."""

    def __init__(self, url: str):
        self.client = _client(url)

    def predict(self, **call):
        return self.client.predict(**call, api_name="/render")

    def close(self) -> None:
        self.client.close()


RENDER_CLIENTS = {"page": PageRenders, "api": ApiRenders}


def _client(url: str):
    from gradio_client import Client
    # plain http on loopback; image URLs come back as a browser gets them, no CA bundle per request
    return Client(url, verbose=False, download_files=False, ssl_verify=False)


def explorer(url: str, stop: threading.Event, tally: Tally, max_requests: int, seed: int, profile: str,
             models: list[str], via: str = "page") -> None:
    rng = random.Random(seed)
    mixed = profile == "mixed"
    req = RenderRequest(model=rng.choice(models) if mixed else "cgan", seed=rng.randrange(1000),
                        n=rng.randint(1, 100) if mixed else 50)
    client = RENDER_CLIENTS[via](url)
    try:
        while not stop.is_set() and tally.count(max_requests):
            move = rng.random()
            if move < 0.55:
                setattr(req, f"s{rng.randint(1, 8)}", round(rng.uniform(-3, 3), 2))
            elif move < 0.7:
                req.seed = rng.randrange(2**31 - 1)
            elif move < 0.85:
                req.digit = rng.choice(["all"] + [str(d) for d in range(10)])
            elif mixed and move < 0.93:
                req.n = rng.randint(1, 100)
            elif mixed:
                req.model = rng.choice(models)
            bad = rng.choice(BAD_VALUES) if mixed and rng.random() < 0.1 else None
            call = api_call(req) | ({bad[0]: bad[1]} if bad else {})
            t0 = time.perf_counter()
            try:
                client.predict(**call)
                ms = (time.perf_counter() - t0) * 1000
                if bad:
                    tally.error(f"render accepted {bad[0]}={bad[1]!r}")
                with tally.lock:
                    tally.latencies.setdefault(req.model, []).append(ms)
                    tally.by_client.setdefault(via, []).append(ms)
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                if bad and re.search(rf"\b{bad[0]}\b", str(e)):
                    with tally.lock:
                        tally.bad_refused += 1
                else:
                    tally.error(f"render {'' if not bad else f'{bad[0]}={bad[1]!r} '}{type(e).__name__}: {e}")
            lo, hi = (0.2, 0.8) if mixed else (0.5, 1.5)
            stop.wait(rng.uniform(lo, hi))                    # looks at the digits, then changes something
    finally:
        client.close()


def submit_and_wait(client, req: TrainRequest, poll: float, leave_after: float | None = None,
                    stop: threading.Event | None = None):
    """Submit a /train job and wait for its end (or, with ``leave_after``, cancel it that many
    seconds after it starts training, as a visitor closing the tab; or, once ``stop`` is set, cancel
    it if it is still waiting for a slot: the crowd goes home). Returns (job, the time its
    status first said "running": out of Gradio's queue *and* holding one of the server's slots,
    whether it was cancelled)."""
    job = client.submit(**api_call(req), api_name="/train")
    t_start = None
    while not job.done():
        outs = job.outputs()
        if t_start is None and outs and "- running" in str(outs[-1][0]):
            t_start = time.perf_counter()
        if (leave_after is not None and t_start is not None and time.perf_counter() - t_start >= leave_after) or \
                (stop is not None and stop.is_set() and t_start is None):
            try:
                job.cancel()
            except Exception:  # noqa: BLE001 - the cancel request itself timed out (a busy server): the visitor
                pass           # still leaves; the closed client's unread stream ends the run (Run.abandoned)
            return job, t_start, True
        time.sleep(poll)
    return job, t_start, False


def trainer(url: str, stop: threading.Event, tally: Tally, max_requests: int, seed: int, run_seconds: float,
            leaves: bool) -> None:
    args = TrainRequest.filled("dcgan", length_kind="seconds", length=run_seconds, batch_size=64, ema=0.0, seed=seed)
    while not stop.is_set() and tally.count(max_requests):
        client = _client(url)                                 # a leaving visitor comes back as a new session
        try:
            t_submit = time.perf_counter()
            job, t_start, cancelled = submit_and_wait(client, args, poll=0.05,
                                                      leave_after=run_seconds / 2 if leaves else None, stop=stop)
            t_end = time.perf_counter()
            if cancelled and t_start is None:
                continue                                      # still queued when the crowd went home: not a run
            if leaves:
                with tally.lock:
                    tally.runs.append({"queue_wait_s": (t_start or t_end) - t_submit, "start": t_start or t_end,
                                       "end": t_end, "steps": 0, "images_per_sec": None, "finished": False,
                                       "left": True})
                continue
            try:
                outs = job.outputs()
                status = outs[-1][0] if outs else ""
                running = next((o[0] for o in reversed(outs) if "images/s" in str(o[0])), "")   # speed: while it ran
                job.result()
            except Exception as e:  # noqa: BLE001
                tally.error(f"train: {type(e).__name__}: {e}")
                continue
            steps, speed = re.search(r"Step (\d+)", status), re.search(r"([\d,]+) images/s", running)
            t_start = t_start or t_end
            with tally.lock:
                tally.runs.append({"queue_wait_s": t_start - t_submit, "start": t_start, "end": t_end,
                                   "steps": int(steps.group(1)) if steps else 0,
                                   "images_per_sec": float(speed.group(1).replace(",", "")) if speed else None,
                                   "finished": "finished" in status, "left": False})
        finally:
            client.close()
