"""``python -m gan load``: start the app on loopback and drive it like a crowd.

Explorers change models, seeds, sliders, digits and counts through /render (the visitors are
in ``crowd.py``: the default "mixed" profile uses every shipped model, 1-100 digits, and sends
bad values one time in ten); trainers start short training runs through /train and wait in
the queue like anyone else, one of them leaving each run half way. Bounded by --seconds and
--max-requests; only ever talks to the server it started itself on 127.0.0.1. Reports render
latency percentiles per model, bad values refused by name, training runs (finished, left),
queue waits, errors, the most runs seen training at once, and the server's memory over time.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gan.app.library import ModelLibrary
from gan.app.requests import TrainRequest, api_call
from gan.app.runs import app_recipe
from gan.engine.data import load_mnist
from gan.engine.loop import train
from gan.paths import REPO
from gan.tools.crowd import Tally, explorer, submit_and_wait, trainer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_second_half(curve: list[tuple[float, float]]) -> dict:
    """The server's memory over the load's second half: its range, and its growth as the
    least-squares line through the samples says (a server that frees memory in steps swings
    but does not grow; one that leaks grows)."""
    if len(curve) < 2:
        return {"memory_mb_second_half_range": None, "memory_mb_second_half_growth": None}
    ts, ms = zip(*curve)
    t_mean, m_mean = sum(ts) / len(ts), sum(ms) / len(ms)
    var = sum((t - t_mean) ** 2 for t in ts)
    slope = sum((t - t_mean) * (m - m_mean) for t, m in curve) / var if var else 0.0
    return {"memory_mb_second_half_range": round(max(ms) - min(ms), 1),
            "memory_mb_second_half_growth": round(slope * (max(ts) - min(ts)), 1)}


def _rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def wait_until_idle(pid: int, timeout: float = 120, busy: float = 0.25) -> None:
    """Wait until the process uses under ``busy`` of a core over a second (start-up work done)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        c0 = _cpu_seconds(pid)
        time.sleep(1)
        if _cpu_seconds(pid) - c0 < busy:
            return


def start_server(env: dict[str, str], timeout: float = 120) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = os.environ | {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                        "GRADIO_ANALYTICS_ENABLED": "False"} | env
    log = tempfile.TemporaryFile(mode="w+")             # the server's log: a pipe nobody reads would fill and block it
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}/"
    t0 = time.time()
    import httpx
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the app exited during start-up:\n{log.read()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the app did not answer on {url} within {timeout:.0f}s")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _max_overlap(runs: list[dict], tail_s: float = 1.0) -> int:
    """Most runs training at once, from the clients' view. A client sees its run end late (the
    stream's tail, its 50 ms poll, thread scheduling on a loaded 2-core machine: 0.3 s was once
    not enough), so each end counts ``tail_s`` early; runs that really share the slot overlap
    by whole seconds."""
    edges = sorted([(r["start"], 1) for r in runs] + [(r["end"] - tail_s, -1) for r in runs])
    best = cur = 0
    for _, d in edges:
        cur += d
        best = max(best, cur)
    return best


def _stats(ms: list[float]) -> dict:
    return {"requests": len(ms), "p50_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(_pct(ms, 0.95), 1) if ms else None, "max_ms": round(max(ms), 1) if ms else None}


def run_load(explorers: int = 20, trainers: int = 4, seconds: float = 120, max_requests: int = 50_000,
             slots: int | None = None, run_seconds: float = 15, profile: str = "mixed", until=None,
             max_seconds: float | None = None, clients: str = "page", sample_every: float = 2.0) -> dict:
    """The crowd for ``seconds``, and longer (up to ``max_seconds``) until ``until(tally)`` holds
    (say, so many renders answered and a visitor who left mid-run): a slow machine then takes
    longer to show the same traffic, instead of showing less of it."""
    if profile not in ("mixed", "cgan50"):
        raise ValueError(f"--profile must be mixed or cgan50, got {profile!r}")
    if clients not in ("page", "api", "both"):
        raise ValueError(f"--clients must be page, api or both, got {clients!r}")
    if not 0.1 <= sample_every <= 60:
        raise ValueError(f"--sample-every must be in [0.1, 60] seconds, got {sample_every!r}")
    models = ModelLibrary().names()
    env = {"GAN_MAX_RUN_SECONDS": str(max(run_seconds, 1))}
    if slots is not None:
        env["GAN_MAX_CONCURRENT_RUNS"] = str(slots)
    proc, url = start_server(env)
    tally, stop = Tally(), threading.Event()
    via = ["api" if clients == "api" or (clients == "both" and i % 2) else "page" for i in range(explorers)]
    threads = [threading.Thread(target=explorer, args=(url, stop, tally, max_requests, i, profile, models, via[i]),
                                daemon=True) for i in range(explorers)]
    threads += [threading.Thread(target=trainer, args=(url, stop, tally, max_requests, i, run_seconds,
                                                       profile == "mixed" and i == 0), daemon=True)
                for i in range(trainers)]
    try:
        wait_until_idle(proc.pid)                        # start-up work (every model loaded) done, as in service
        t0 = time.perf_counter()
        cpu0 = _cpu_seconds(proc.pid), time.process_time()
        for t in threads:
            t.start()
        while time.perf_counter() - t0 < seconds or (until is not None and not until(tally) and
                                                      time.perf_counter() - t0 < (max_seconds or seconds)):
            tally.memory.append((round(time.perf_counter() - t0, 1), round(_rss_mb(proc.pid), 1)))
            if proc.poll() is not None:
                tally.errors.append("the server process died")
                break
            time.sleep(sample_every)
        stop.set()
        for t in threads:
            t.join(timeout=run_seconds + 60)
        wall = time.perf_counter() - t0
        cpu = (_cpu_seconds(proc.pid) - cpu0[0]) / wall, (time.process_time() - cpu0[1]) / wall
        tally.memory.append((round(time.perf_counter() - t0, 1), round(_rss_mb(proc.pid), 1)))
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    second_half = [(t, m) for t, m in tally.memory if min(60, seconds / 2) <= t <= seconds]
    lat = [ms for v in tally.latencies.values() for ms in v]
    stayed = [r for r in tally.runs if not r["left"]]
    overall = _stats(lat)
    return {
        "what": "load", "profile": profile, "clients": clients, "explorers": explorers, "trainers": trainers, "seconds": seconds,
        "slots": slots if slots is not None else "app default",
        "render_requests": overall["requests"], "render_p50_ms": overall["p50_ms"], "render_p95_ms": overall["p95_ms"],
        "render_max_ms": overall["max_ms"],
        **{f"{kind}_render_{k}": _stats(v)[k] for kind, v in sorted(tally.by_client.items())
           for k in ("requests", "p50_ms", "p95_ms")},
        "worst_model_p95_ms": max((_stats(v)["p95_ms"] for v in tally.latencies.values()), default=None),
        "bad_values_refused_by_name": tally.bad_refused,
        "training_runs": len(stayed), "runs_finished": sum(r["finished"] for r in stayed),
        "runs_left_mid_way": len(tally.runs) - len(stayed),
        "images_per_sec_per_run": round(statistics.mean(r["images_per_sec"] for r in stayed if r["images_per_sec"]), 1)
        if any(r["images_per_sec"] for r in stayed) else None,
        "queue_wait_p50_s": round(statistics.median(r["queue_wait_s"] for r in tally.runs), 2) if tally.runs else None,
        "queue_wait_max_s": round(max(r["queue_wait_s"] for r in tally.runs), 2) if tally.runs else None,
        "max_runs_at_once": _max_overlap(tally.runs),
        "server_cores_busy": round(cpu[0], 2), "load_clients_cores_busy": round(cpu[1], 2),
        "errors": len(tally.errors), "error_samples": tally.errors[:5], "server_alive": alive,
        "memory_mb_start": tally.memory[0][1] if tally.memory else None,
        "memory_mb_end": tally.memory[-1][1] if tally.memory else None,
        **memory_second_half(second_half),
        "per_model": {m: _stats(v) for m, v in sorted(tally.latencies.items())},
        "memory_curve": tally.memory,
    }


def add_parser(sub) -> None:
    p = sub.add_parser("load", help="start the app on loopback and drive it with concurrent visitors")
    p.add_argument("--explorers", type=int, default=20)
    p.add_argument("--trainers", type=int, default=4)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--max-requests", type=int, default=50_000, help="hard cap on requests, all clients together")
    p.add_argument("--slots", type=int, help="GAN_MAX_CONCURRENT_RUNS for the server (default: the app's own)")
    p.add_argument("--run-seconds", type=float, default=15, help="length of each training run")
    p.add_argument("--profile", choices=("mixed", "cgan50"), default="mixed",
                   help="mixed: every model, 1-100 digits, bad values, a leaving trainer (crowd.py); cgan50: the old one")
    p.add_argument("--clients", choices=("page", "api", "both"), default="page",
                   help="how explorers ask for renders: as the page does (queue-free), as gradio_client does "
                        "(the Space's 'Use via API', through the queue), or half each")
    p.add_argument("--sample-every", type=float, default=2.0, help="seconds between the server's memory samples")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd)


def _cmd(args) -> None:
    for name in ("explorers", "trainers", "max_requests"):
        if not 0 <= getattr(args, name) <= 200_000:
            raise ValueError(f"--{name.replace('_', '-')} must be in [0, 200000]")
    if not 1 <= args.seconds <= 3600:
        raise ValueError("--seconds must be in [1, 3600]")
    r = run_load(args.explorers, args.trainers, args.seconds, args.max_requests, args.slots, args.run_seconds, args.profile,
                 clients=args.clients, sample_every=args.sample_every)
    if args.json:
        print(json.dumps(r))
        return
    for k, v in r.items():
        if k not in ("memory_curve", "per_model"):
            print(f"{k:38s} {v}")
    print(f"{'model':14s} {'requests':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}")
    for m, st in r["per_model"].items():
        print(f"{m:14s} {st['requests']:8d} {st['p50_ms']:8.1f} {st['p95_ms']:8.1f} {st['max_ms']:8.1f}")
    print("memory (s, MB):", " ".join(f"{t:.0f}:{m:.0f}" for t, m in r["memory_curve"]))


def ui_overhead(preset: str = "cgan", steps: int = 600, repeats: int = 2, log=print) -> dict:
    """Wall time of one training run through the app's streaming /train endpoint (Gradio
    server, 0.4 s updates, live grid and plots, quick-quality checks) against the same run by
    the engine alone. Runs alternate (engine, app, engine, app, ...) and medians are compared,
    because a shared 2-core machine drifts by 10-20 % from minute to minute."""
    from gradio_client import Client

    args = TrainRequest.filled(preset, length_kind="steps", length=steps)     # the app's recipe for the preset
    data = load_mnist("train")
    proc, url = start_server({})
    engine, app = [], []
    try:
        wait_until_idle(proc.pid)                           # the app warms up in the background first
        client = Client(url, verbose=False, download_files=False, ssl_verify=False)
        client.predict(**api_call(dataclasses.replace(args, length=2)), api_name="/train")   # loads MNIST once, as the first visitor does
        for _ in range(repeats):
            cfg = app_recipe(preset)
            cfg.steps, cfg.log_every, cfg.sample_every, cfg.device = steps, 10, 50, "cpu"
            t0 = time.perf_counter()
            train(cfg, data=data)
            engine.append(time.perf_counter() - t0)
            _, t_start, _ = submit_and_wait(client, args, poll=0.01)
            app.append(time.perf_counter() - (t_start or time.perf_counter()))
            log(f"engine alone {engine[-1]:.1f} s, through the app {app[-1]:.1f} s ({steps} steps)")
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)
    e, a = statistics.median(engine), statistics.median(app)
    return {"what": "ui overhead", "preset": preset, "steps": steps, "repeats": repeats, "engine_s": round(e, 2),
            "app_s": round(a, 2), "ui_adds_percent": round(100 * (a / e - 1), 1)}


def stream_rate(preset: str = "cgan", seconds: float = 8.0, repeats: int = 2, log=print) -> dict:
    """What a visitor who presses Start sees, measured at the API: seconds until the first picture
    of the live grid, and new pictures a second after it (the app aims at <= 2 s and >= 2 a
    second on 2 CPU cores). A benchmark, not a test: on a busy machine both get worse."""
    from gradio_client import Client
    args = TrainRequest.filled(preset, length_kind="seconds", length=seconds)
    proc, url = start_server({})
    firsts, rates = [], []
    try:
        wait_until_idle(proc.pid)
        client = Client(url, verbose=False, download_files=False, ssl_verify=False)
        client.predict(**api_call(dataclasses.replace(args, length=1)), api_name="/train")   # MNIST loaded once
        for _ in range(repeats):
            t0, seen = time.perf_counter(), []
            for out in client.submit(**api_call(args), api_name="/train"):
                grid = out[1]
                key = grid.get("path") if isinstance(grid, dict) else grid
                if key and (not seen or seen[-1][1] != key):
                    seen.append((time.perf_counter() - t0, key))
            firsts.append(seen[0][0])
            span = seen[-1][0] - seen[0][0]
            rates.append((len(seen) - 1) / span if span > 0 else 0.0)
            log(f"first picture {firsts[-1]:.2f} s after Start, then {rates[-1]:.1f} new pictures a second")
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return {"what": "live stream", "preset": preset, "run_s": seconds, "repeats": repeats,
            "first_picture_s": round(statistics.median(firsts), 2),
            "pictures_per_s": round(statistics.median(rates), 2)}


SLIDER_TO_PICTURE_JS = """(v) => new Promise(res => {
  const before = document.querySelector('#samples-grid img').src;
  const input = document.querySelector('input[aria-label="number input for Direction 1"]');
  const t0 = performance.now();
  const seen = new MutationObserver(() => { const img = document.querySelector('#samples-grid img');
    if (img && img.src !== before) { seen.disconnect(); img.decode().then(() => res(performance.now() - t0)); } });
  seen.observe(document.querySelector('#samples-grid'), {subtree: true, attributes: true, childList: true});
  input.value = v; input.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => res(null), 10000);
})"""


def slider_latency(repeats: int = 25, log=print) -> dict:
    """Milliseconds from a slider's new value to the new picture decoded in the page (Debian's
    Chromium through Playwright, timed inside the page; cgan, 50 digits): what a visitor feels."""

    from playwright.sync_api import sync_playwright
    chromium = shutil.which("chromium")
    if chromium is None:
        raise ValueError("bench slider needs Debian's chromium (apt-get install chromium)")
    proc, url = start_server({})
    try:
        wait_until_idle(proc.pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.locator("#samples-grid img").first.wait_for(timeout=60000)
            times = []
            for i in range(repeats):
                times.append(page.evaluate(SLIDER_TO_PICTURE_JS, f"{(i % 10) * 0.25 - 1.2:.2f}"))
                page.wait_for_timeout(150)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    ok = sorted(t for t in times if t is not None)
    log(f"slider to picture: p50 {statistics.median(ok):.0f} ms over {len(ok)} moves")
    return {"what": "slider to picture", "moves": len(ok), "lost": repeats - len(ok),
            "p50_ms": round(statistics.median(ok)), "p90_ms": round(ok[int(0.9 * (len(ok) - 1))]), "max_ms": round(ok[-1])}
