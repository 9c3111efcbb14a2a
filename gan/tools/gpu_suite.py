"""``python -m gan gpu-suite --out DIR [--budget-s 540] [--device cuda|cpu] [--smoke]``: everything
this repository needs a GPU for, in one call that ends inside its budget whatever happens.

Parts, in this order (the shipped weights matter most), each with its share of the budget (a part
that fails is reported and the rest go on):
  tests   ``pytest -m gpu`` on the test files that hold GPU tests (graph step vs eager for every
          preset, bf16, EMA, lr changes); only those files, so the app's test modules (Gradio,
          Playwright) need not be installed on the GPU machine
  train   every preset with its GPU recipe (``Preset.gpu_recipe``), ``--concurrency`` runs at a
          time (default 2), each given an equal share of the time left (``slot_seconds``: a run that
          stops at its goal hands its time on), scored every 30 s and stopped at its goal
          (``train --stop-at-goal``); then the VARIANTS (named recipe changes), reported only.
          The evaluator's reference is cached on disk first, so no run recomputes it. Measured on
          an H200 (weights/gpu-runs/): ten runs at once made ~15-30 steps/s each, and their first goal
          checks, each computing the reference on 16 shared cores, took ~90 s. Uncompiled: the CUDA
          graph already removes the launch overhead, and compiling cost more than it gave
          (bench: dcgan at batch 128, 11k images/s compiled vs 16k eager)
  finish  each generator evaluated (10,000 samples), its probe D fitted, its sample grid drawn,
          its metrics.json entry written with the exact command, device, steps and seconds
  bench   the engine at batch 128 and 1024 in each step mode, and the conventional loop at 128
          (each row lands in the report as it is measured, so a cut keeps what was done)
Output in DIR: report.json, report.md and bundle-N.tar (at most 15 MiB each: weights/,
weights/discriminators/, weights/samples/, metrics.json, logs/). ``python -m gan adopt DIR``
puts the generators that beat the shipped ones into weights/ (see weights/README.md).
``--smoke --device cpu --budget-s 240`` runs the same path on tiny models (part of the tests).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from pathlib import Path

import torch

from gan.engine.data import load_mnist
from gan.evaluation.evaluate import evaluate, reference
from gan.inference.sampling import load_generator
from gan.models.registry import get_preset, preset_names
from gan.paths import REPO
from gan.shipping.card import metrics_entry
from gan.shipping.install import draw_samples, fit_probe
from gan.tools.bench import bench_baseline, bench_engine

SHARES = {"tests": 0.07, "train": 0.55, "finish": 0.18, "bench": 0.20}
MIN_S = {"tests": 20.0}   # a pytest process's start alone took over 4 s (a 60 s smoke's share) on a busy 2-core CPU
ALLOWANCE_S = 25     # a training process's start (CUDA, MNIST, graph capture) and export, measured ~20 s on an H200
# runs beside the presets' own: reported with their scores, never adopted (weights/README.md)
VARIANTS = {"cs231n-lsgan": ("cs231n", ["--loss", "lsgan"])}
TAR_LIMIT = 15 * 2**20


def add_parser(sub) -> None:
    p = sub.add_parser("gpu-suite", help="all GPU work in one call: GPU tests, benchmarks, training the shipped weights")
    p.add_argument("--out", required=True, help="where report.json, report.md and bundle-N.tar go")
    p.add_argument("--budget-s", type=float, default=540, help="the whole call ends within this (default 540)")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--smoke", action="store_true", help="tiny models and lengths: the same path in a minute")
    p.add_argument("--presets", help="comma-separated subset (default: every registered preset)")
    p.add_argument("--concurrency", type=int, default=2,
                   help="training runs sharing the GPU at a time (default 2; ten at once ran ~30x slower each on an H200)")
    p.add_argument("--parts", default=",".join(SHARES),
                   help=f"comma-separated subset of {','.join(SHARES)}, sharing the budget in the same proportions")
    p.set_defaults(fn=run)


def run(args) -> None:
    if not 20 <= args.budget_s <= 3600:
        raise ValueError(f"--budget-s must be in [20, 3600], got {args.budget_s}")
    presets = args.presets.split(",") if args.presets else preset_names()
    unknown = sorted(set(presets) - set(preset_names()))
    if unknown:
        raise ValueError(f"unknown preset(s) {unknown}")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA GPU here (use --device cpu --smoke for the CPU check)")
    parts = args.parts.split(",")
    if not parts or set(parts) - set(SHARES):
        raise ValueError(f"--parts: choose from {','.join(SHARES)}, got {args.parts!r}")
    if not 1 <= args.concurrency <= 16:
        raise ValueError(f"--concurrency must be in [1, 16], got {args.concurrency}")
    report = Suite(Path(args.out), args.budget_s, args.device, args.smoke, presets, parts, args.concurrency).run()
    print(Path(args.out) / "report.md")
    print(render_markdown(report))


class Suite:
    def __init__(self, out: Path, budget: float, device: str, smoke: bool, presets: list[str],
                 parts: list[str] = list(SHARES), concurrency: int = 2):
        self.out, self.budget, self.device, self.smoke, self.presets = out, budget, device, smoke, presets
        self.concurrency = concurrency
        self.shares = {p: SHARES[p] / sum(SHARES[q] for q in parts) for p in SHARES if p in parts}
        self.work = Path(tempfile.mkdtemp(prefix="gpu-suite-"))
        self.n_ref = 1000 if smoke else 10000          # test images the metrics compare with
        self.t0 = time.perf_counter()
        self.report = {"device": device, "smoke": smoke, "budget_s": budget, "presets": presets,
                       "started": time.strftime("%Y-%m-%d %H:%M:%S"), "parts": {}}

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t0)

    def run(self) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        self.children: list[subprocess.Popen] = []
        self.lock = threading.Lock()
        watchdog = threading.Timer(max(1.0, self.budget - 2.0), self._cut)   # the budget holds whatever happens
        watchdog.daemon = True
        watchdog.start()
        self.report["gpu"] = _gpu_name(self.device)
        for name, fn in (("tests", self.tests), ("train", self.train), ("finish", self.finish), ("bench", self.bench)):
            if name not in self.shares:
                continue
            limit = max(1.0, min(max(self.shares[name] * self.budget, MIN_S.get(name, 0.0)), self.left() - 5))
            t = time.perf_counter()
            try:
                entry = {"status": "ok"} | fn(limit)
            except Exception as e:  # noqa: BLE001 - a failed part is reported, the rest goes on
                entry = {"status": "failed", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
            self.report["parts"][name] = entry | {"seconds": round(time.perf_counter() - t, 1), "limit_s": round(limit, 1)}
        watchdog.cancel()
        self._write()
        return self.report

    def _write(self) -> None:
        with self.lock:
            self.report["seconds"] = round(time.perf_counter() - self.t0, 1)
            self.report["bundles"] = pack(self.work, self.out)
            (self.out / "report.json").write_text(json.dumps(self.report, indent=1) + "\n")
            (self.out / "report.md").write_text(render_markdown(self.report))

    def _cut(self) -> None:
        """At the end of the budget: stop the runs, write what there is, and end the process."""
        for p in self.children:
            p.kill()
        self.report["cut"] = "the budget ran out: the parts after the last one listed did not finish"
        self._write()
        print(self.out / "report.md", flush=True)
        os._exit(0)

    # ------------------------------------------------------------------ parts
    def tests(self, limit: float) -> dict:
        where = ["tests/engine/test_fused_step.py"] if self.smoke else gpu_test_files()
        cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", *where]
        p = _run(cmd, limit, self.work / "logs" / "gpu-tests.log")
        summary = p["tail"].strip().splitlines()[-1] if p["tail"].strip() else ""
        return {"command": " ".join(cmd[1:]), "returncode": p["returncode"], "summary": summary,
                "status": "ok" if p["returncode"] in (0, 5) else "failed"}   # 5: none ran (no GPU here)

    def bench(self, limit: float) -> dict:
        data = load_mnist("train")
        tiny = {"model": get_preset("dcgan").tiny_model} if self.smoke else {}
        batches = (16,) if self.smoke else (128, 1024)
        modes = {"eager": dict(compile=False, cuda_graph=False), "compiled": dict(compile=None, cuda_graph=False),
                 "graph": dict(compile=None, cuda_graph=True)}
        each = 0.5 if self.smoke else limit / (len(batches) * len(modes) + 1) * 0.5   # warm-up, compilation: the rest
        rows = []
        self.report["parts"]["bench"] = {"status": "cut while measuring", "engine": rows, "seconds": None,
                                         "limit_s": round(limit, 1)}
        for b in batches:
            for mode, kw in modes.items():
                try:
                    r = bench_engine("dcgan", self.device, b, seconds=each, repeats=3, warmup=5 if self.smoke else 30,
                                     data=data, **kw, **tiny)
                    rows.append(r | {"asked": mode})
                except Exception as e:  # noqa: BLE001 - one mode failing is a result too
                    rows.append({"asked": mode, "batch": b, "error": f"{type(e).__name__}: {e}"})
        base = bench_baseline("dcgan", self.device, batches[0], seconds=each, workers=0 if self.smoke else 4, **tiny)
        best = max((r["images_per_sec"] for r in rows if r.get("batch") == batches[0] and "images_per_sec" in r),
                   default=0.0)
        return {"engine": rows, "baseline": base, "speedup_at_batch": batches[0],
                "speedup": round(best / base["images_per_sec"], 2) if base["images_per_sec"] else None}

    def train(self, limit: float) -> dict:
        deadline = time.perf_counter() + limit
        reference(self.n_ref)      # on disk before any run starts: each run's goal checks read it, none recompute it
        queue = [(name, name, []) for name in self.presets]
        if not self.smoke:
            queue += [(v, p, extra) for v, (p, extra) in VARIANTS.items() if p in self.presets]
        conc = len(queue) if self.smoke else self.concurrency        # a smoke run: all at once, 2 s each
        env = os.environ | {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // conc))}
        running, runs = {}, {}
        while queue or running:
            while queue and len(running) < conc:
                name, preset, extra = queue.pop(0)
                now = time.perf_counter()
                free = [now] * (conc - len(running)) + [end for *_, end in running.values()]
                seconds = 2.0 if self.smoke else slot_seconds(deadline, free, len(queue) + 1, ALLOWANCE_S)
                if seconds is None:
                    runs[name] = {"returncode": "not started: no time left", "exported": False}
                    continue
                cmd = train_command(preset, seconds, self.device, self.smoke, self.work, name) + extra
                log = self.work / "logs" / f"train-{name}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                proc = subprocess.Popen(cmd, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
                self.children.append(proc)
                running[name] = (cmd, proc, seconds, now + seconds + ALLOWANCE_S)
            time.sleep(0.2)
            for name, (cmd, proc, seconds, _) in list(running.items()):
                rc = proc.poll()
                if rc is None and time.perf_counter() > deadline:
                    proc.kill()
                    proc.wait()
                    rc = "killed at the part's limit"
                if rc is not None:
                    del running[name]
                    runs[name] = {"command": "python -m gan " + " ".join(cmd[3:]), "returncode": rc,
                                  "seconds": round(seconds, 1),
                                  "exported": _export_path(self.work, name).is_file()}
        return {"runs": runs, "concurrency": f"{conc} runs at a time, each given an equal share of the time left"}

    def finish(self, limit: float) -> dict:
        deadline, done = time.perf_counter() + limit, {}
        metrics, data = {}, load_mnist("train")
        for name in self.presets:
            path = self.work / "weights" / f"{name}.safetensors"
            if not path.is_file() or time.perf_counter() > deadline:
                done[name] = "no file" if not path.is_file() else "out of time"
                continue
            model = load_generator(path)
            res = evaluate(model, n=200 if self.smoke else 10000, n_ref=self.n_ref)
            metrics[name] = metrics_entry(res, model.meta)
            (self.work / "weights" / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
            draw_samples(path, self.work / "weights" / "samples" / f"{name}.png")
            fit_probe(path, self.work / "weights" / "discriminators" / f"{name}.safetensors", 5 if self.smoke else 400,
                      data, self.device)
            done[name] = {"fid_ratio": round(res["fid_ratio"], 2), "modes": res["modes"]}
        for name in VARIANTS:
            path = _export_path(self.work, name)
            if path.is_file() and time.perf_counter() < deadline:
                res = evaluate(load_generator(path), n=10000, n_ref=self.n_ref)
                done[name] = {k: round(res[k], 3) for k in ("fid_ratio", "digit_share") if k in res} | {"modes": res["modes"]}
        return {"models": done}


def slot_seconds(deadline: float, slot_free: list[float], waiting: int, allowance: float) -> float | None:
    """Training seconds for the next run: the longest equal length that lets all ``waiting`` runs
    (this one included), each placed on the slot free first (``slot_free``: when each slot frees,
    now for an idle one), end by ``deadline`` with their start-up and export ``allowance``; None
    when under 5 s would remain. Asked again at every start, so a run that stops at its goal
    early hands its time on to the runs after it."""
    def fits(seconds: float) -> bool:
        free = sorted(slot_free)
        for _ in range(waiting):
            free[0] += seconds + allowance
            if free[0] > deadline:
                return False
            free.sort()
        return True
    if not fits(5.0):
        return None
    lo, hi = 5.0, deadline - min(slot_free)
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def gpu_test_files() -> list[str]:
    return sorted(str(f.relative_to(REPO)) for f in (REPO / "tests").rglob("test_*.py") if "mark.gpu" in f.read_text())


def _export_path(work: Path, name: str) -> Path:
    return work / "weights" / ("variants" if name in VARIANTS else "") / f"{name}.safetensors"


def train_command(name: str, seconds: float, device: str, smoke: bool, work: Path, run_name: str | None = None) -> list[str]:
    p = get_preset(name)
    run_name = run_name or name
    recipe = dict(p.gpu_recipe)
    if smoke:
        recipe["model"] = p.tiny_model
        recipe["batch_size"] = min(recipe.get("batch_size", 32), 32)
    cmd = [sys.executable, "-m", "gan", "train", "--preset", name, "--seconds", f"{seconds:.0f}", "--device", device,
           "--quiet", "--out", str(work / "runs" / run_name), "--no-compile",
           "--export", str(_export_path(work, run_name)), "--log-every", "50"]
    if not smoke:                    # a smoke run is shorter than one goal check (tests/commands/test_cli.py checks it)
        cmd += ["--stop-at-goal", "30"]
    for k, v in recipe.items():
        flag = "--" + k.replace("_", "-")
        cmd += [flag, json.dumps(v) if isinstance(v, dict) else ",".join(map(str, v)) if isinstance(v, (list, tuple))
                else str(v)]
    (work / "weights" / "samples").mkdir(parents=True, exist_ok=True)
    (work / "weights" / "discriminators").mkdir(parents=True, exist_ok=True)
    (work / "weights" / "variants").mkdir(parents=True, exist_ok=True)
    return cmd


def pack(work: Path, out: Path) -> list[str]:
    """The work folder's weights/ and logs/ as tars of at most TAR_LIMIT bytes each."""
    files = sorted(p for p in work.rglob("*") if p.is_file() and p.relative_to(work).parts[0] in ("weights", "logs"))
    bundles, size, tar = [], 0, None
    for f in files:
        if tar is None or size + f.stat().st_size > TAR_LIMIT:
            if tar is not None:
                tar.close()
            bundles.append(f"bundle-{len(bundles) + 1}.tar")
            tar, size = tarfile.open(out / bundles[-1], "w"), 0
        tar.add(f, arcname=str(f.relative_to(work)))
        size += f.stat().st_size
    if tar is not None:
        tar.close()
    return bundles


def render_markdown(r: dict) -> str:
    lines = [f"# GPU suite: {r.get('gpu')} ({'smoke' if r['smoke'] else 'full'}), {r['started']}",
             f"{r.get('seconds')} s of a {r['budget_s']:.0f} s budget; bundles: {', '.join(r.get('bundles', []))}",
             f"**{r['cut']}**" if r.get("cut") else "", ""]
    for name, part in r["parts"].items():
        lines.append(f"## {name}: {part['status']} ({part['seconds']} s of {part['limit_s']} s)")
        if part["status"] != "ok":
            lines.append(f"    {part.get('error', part.get('summary', ''))}")
        if name == "tests":
            lines.append(f"- `{part.get('command')}`: {part.get('summary')}")
        if name == "bench" and "engine" in part:
            for e in part["engine"]:
                lines.append(f"- engine batch {e.get('batch')}, asked {e['asked']}: " + (
                    f"{e['images_per_sec']:,.0f} images/s ({e['step_mode']}{'; ' + e['step_note'] if e.get('step_note') else ''})"
                    if "images_per_sec" in e else e.get("error", "")))
            if "baseline" in part:
                lines.append(f"- conventional loop: {part['baseline']['images_per_sec']:,.0f} images/s; "
                             f"best engine / loop at batch {part['speedup_at_batch']}: **{part['speedup']}x**")
        if name == "train" and "runs" in part:
            lines.append(f"- {part.get('concurrency')}")
            lines += [f"- {n}: {v.get('seconds', 0):.0f} s, return code {v['returncode']}, exported {v['exported']}"
                      for n, v in part["runs"].items()]
        if name == "finish" and "models" in part:
            lines += [f"- {n}: {v}" for n, v in part["models"].items()]
    return "\n".join(lines) + "\n"


def _run(cmd: list[str], limit: float, log: Path) -> dict:
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=limit,
                           env=os.environ | {"PYTHONUNBUFFERED": "1"})
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or ""), "timeout"
    log.write_text(out)
    return {"returncode": rc, "tail": out[-2000:]}


def _gpu_name(device: str) -> str:
    return torch.cuda.get_device_name() if device == "cuda" and torch.cuda.is_available() else "cpu"
