"""Time-to-quality, the visitor's 60-second run, the evaluator's speed and latency (renders; finding
a digit, its nearest training digits, the latent map) benchmarks (``python -m gan bench
ttq|visitor|evaluator|latency|ui|stream``)."""
from __future__ import annotations

import dataclasses
import statistics
import time

import torch

from gan.app import pictures
from gan.app.library import ModelLibrary
from gan.app.requests import Interpolation, Render
from gan.app.runs import app_recipe
from gan.commands.options import add_train_options, config_from_args
from gan.engine.config import TrainConfig
from gan.engine.data import load_mnist
from gan.engine.loop import train
from gan.engine.trainer import Trainer
from gan.evaluation.classifier import embed, load_classifier
from gan.evaluation.evaluate import evaluate, reference, score_images
from gan.evaluation.neighbours import training_set
from gan.inference.explore import Explorer
from gan.inference.int8_render import attach_int8
from gan.inference.inversion import find
from gan.inference.latent_map import latent_map
from gan.inference.sampling import from_trainer, load_generator
from gan.tools.load import slider_latency, stream_rate, ui_overhead


def time_to_quality(cfg: TrainConfig, fid_ratio: float = 20.0, max_seconds: float = 60.0, eval_every: float = 2.0,
                    n_eval: int = 2000, log=print, data=None) -> dict:
    """Train ``cfg`` until quick FID (n_eval samples vs the 10k test features) <= fid_ratio x floor.

    The clock counts training only: evaluations are excluded, and so is the first step, which
    on CUDA is where ``torch.compile`` builds its kernels (reported as ``warmup_seconds``)."""

    floor = reference()["floor_fid"]
    cfg = dataclasses.replace(cfg, seconds=max_seconds * 10 + 60, steps=None, epochs=None,  # the caller's stays as given
                              log_every=min(cfg.log_every, 20), sample_every=10**9)
    trainer = Trainer(cfg, data if data is not None else load_mnist("train"))
    t0 = time.perf_counter()
    trainer.train_step()                       # compile / allocator warm-up, not counted
    trainer.read_stats()
    warmup = time.perf_counter() - t0
    state = {"eval_time": 0.0, "next": eval_every, "curve": [], "hit": None}

    def progress(p):
        train_time = p.elapsed - state["eval_time"]
        if train_time < state["next"] or p.status != "running":
            return
        t0 = time.perf_counter()
        model = from_trainer(trainer)
        imgs = torch.from_numpy(model.sample(seed=1, n=n_eval, digit=None))
        s = score_images(imgs, pr=False)
        state["curve"].append((round(train_time, 2), p.step, round(s["fid"] / floor, 2), s["modes"]))
        log(f"  t={train_time:6.1f}s step={p.step:6d} fid/floor={s['fid'] / floor:7.2f} modes={s['modes']}")
        if s["fid"] / floor <= fid_ratio and state["hit"] is None:
            state["hit"] = train_time
        state["next"] = train_time + eval_every
        state["eval_time"] += time.perf_counter() - t0

    def abort():
        return state["hit"] is not None or bool(state["curve"]) and state["curve"][-1][0] >= max_seconds

    train(progress=progress, abort=abort, trainer=trainer)
    last = state["curve"][-1] if state["curve"] else None
    return {"what": "ttq", "preset": cfg.preset, "device": str(trainer.device), "batch": cfg.batch_size,
            "warmup_seconds": round(warmup, 2), "target_ratio": fid_ratio, "seconds_to_target": state["hit"],
            "final_ratio": last[2] if last else None, "final_modes": last[3] if last else None,
            "curve": state["curve"]}


def visitor_run(preset: str = "cgan", seconds: float = 60.0, log=print, data=None, **overrides) -> dict:
    """The visitor's own run: the app's CPU recipe from scratch for ``seconds`` of training, then
    the card's metrics of what the visitor ends with (10,000 samples, seed 12345)."""
    cfg = app_recipe(preset, gpu=False)
    cfg.steps, cfg.epochs, cfg.seconds, cfg.log_every, cfg.sample_every = None, None, seconds, 50, 10**9
    for k, v in overrides.items():
        setattr(cfg, k, v)
    cfg.validate()
    result = train(cfg, data=data if data is not None else load_mnist("train"))
    m = evaluate(from_trainer(result.trainer), n=10000, pr=False)
    log(f"{preset}, {seconds:g} s: {result.trainer.step} steps, FID {m['fid_ratio']:.1f}x floor, {m['modes']} digits")
    return {"what": "visitor run", "preset": preset, "seconds": seconds, "batch": cfg.batch_size, "ema": f"{cfg.ema:g}",
            "lr_g": f"{cfg.lr_g:g}", "steps": result.trainer.step, "fid_ratio": round(m["fid_ratio"], 2), "modes": m["modes"],
            "cgan_accuracy": round(m["cgan_accuracy"], 4) if "cgan_accuracy" in m else None}


def evaluator_speed(batches=(256, 1000), n: int = 20000, data=None) -> list[dict]:
    """Images a second through the evaluator's classifier at each batch size, in float32 (the
    metrics) and bfloat16 (the nearest-digit lookups), and whether each batch size gives features
    bit-identical to the first one's."""
    images = (data if data is not None else load_mnist("train")).images[:n]
    clf, rows = load_classifier(), []
    for bf16 in (False, True):
        first = None
        for batch in batches:
            embed(images[:batch], clf, batch=batch, bf16=bf16)            # warm-up
            t0 = time.perf_counter()
            feats, _ = embed(images, clf, batch=batch, bf16=bf16)
            seconds = time.perf_counter() - t0
            first = feats if first is None else first
            rows.append({"what": "evaluator features", "dtype": "bfloat16" if bf16 else "float32", "batch": batch,
                         "images": len(images), "images_per_sec": round(len(images) / seconds),
                         "identical_to_first": bool(torch.equal(feats, first))})
    return rows


def _p50_p95(fn, repeats: int = 30) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def latency(weights: str, device: str = "cpu", repeats: int = 30) -> list[dict]:
    """p50 / p95 of the app's own render path (``gan.app.pictures``) for one generator file."""
    model = load_generator(weights, device=device)
    ex = Explorer(model)
    rows = []
    cases = {
        "one digit": lambda: pictures.render(ex, Render(seed=1, n=1)),
        "64-digit grid": lambda: pictures.render(ex, Render(seed=1, n=64)),
        "slider move (64 digits)": lambda: pictures.render(ex, Render(seed=1, n=64, sliders=(0.5,))),
        "10-frame interpolation": lambda: pictures.interpolation(model, Interpolation(1, 2, 10, None, None)),
    }
    for name, fn in cases.items():
        p50, p95 = _p50_p95(fn, repeats)
        rows.append({"what": name, "preset": model.preset, "device": device, "p50_ms": p50, "p95_ms": p95})
    if attach_int8(model)["used"]:                   # what the app's renders use on this CPU
        p50, p95 = _p50_p95(cases["64-digit grid"], repeats)
        rows.append({"what": "64-digit grid, int8", "preset": model.preset, "device": device, "p50_ms": p50,
                     "p95_ms": p95})
    return rows + inside_latency(model, device, repeats)


def inside_latency(model, device: str = "cpu", repeats: int = 30) -> list[dict]:
    """Seeing inside the generator: finding a digit, the nearest training digits of one (the
    features on disk: warmed first), drawing the latent map cold (the app then keeps it)."""
    target = load_mnist("test").images[0].numpy()
    near = training_set()
    digit = model.generate(model.latents(1, 1), model.labels(1, None))[0]
    heavy = max(1, min(repeats, 3))
    cases = {"find my digit (inversion, 8 starts x 120 steps)": (lambda: find(model, target), heavy),
             "nearest training digits of one digit": (lambda: near.nearest(digit), repeats),
             "latent map, 2,000 samples, cold": (lambda: latent_map(model), heavy)}
    rows = []
    for name, (fn, n) in cases.items():
        p50, p95 = _p50_p95(fn, n)
        rows.append({"what": name, "preset": model.preset, "device": device, "p50_ms": p50, "p95_ms": p95})
    return rows


def _ui_overhead(preset: str, steps: int, repeats: int) -> dict:
    return ui_overhead(preset, steps, repeats)


def _slider(repeats: int) -> dict:
    return slider_latency(repeats)


def _stream_rate(preset: str, seconds: float, repeats: int) -> dict:
    return stream_rate(preset, seconds, repeats)


def add_quality_benches(bs, emit) -> None:
    t = bs.add_parser("ttq", help="training seconds until FID <= R x floor (every training option applies)")
    t.add_argument("--preset", default="dcgan")
    t.add_argument("--fid-ratio", type=float, default=20.0)
    t.add_argument("--max-seconds", type=float, default=60.0)
    t.add_argument("--eval-every", type=float, default=2.0)
    t.add_argument("--n-eval", type=int, default=2000)
    t.add_argument("--json", action="store_true")
    add_train_options(t)
    t.set_defaults(fn=lambda a: emit(a, [time_to_quality(config_from_args(a), a.fid_ratio, a.max_seconds,
                                                         a.eval_every, a.n_eval)]))
    for name, help_text, (flag, kind, default), fn in (
            ("ui", "what the streamed app adds to a training run's wall time", ("--steps", int, 600), _ui_overhead),
            ("stream", "seconds to a run's first live picture and new pictures a second, via the API",
             ("--seconds", float, 8.0), _stream_rate)):
        app = bs.add_parser(name, help=help_text)
        app.add_argument("--preset", default="cgan")
        app.add_argument(flag, type=kind, default=default)
        app.add_argument("--repeats", type=int, default=2)
        app.add_argument("--json", action="store_true")
        app.set_defaults(fn=lambda a, fn=fn, length=flag[2:]: emit(a, [fn(a.preset, getattr(a, length), a.repeats)]))
    vr = bs.add_parser("visitor", help="the app's CPU recipe from scratch for 60 s: FID / floor and digits it ends with")
    vr.add_argument("--preset", default="cgan")
    vr.add_argument("--seconds", type=float, default=60.0)
    vr.add_argument("--ema", type=float, help="override the recipe's EMA (recipe science)")
    vr.add_argument("--batch", type=int, help="override the recipe's batch size")
    vr.add_argument("--json", action="store_true")
    vr.set_defaults(fn=lambda a: emit(a, [visitor_run(a.preset, a.seconds, **{k: v for k, v in (
        ("ema", a.ema), ("batch_size", a.batch)) if v is not None})]))
    ev = bs.add_parser("evaluator", help="images a second through the evaluator's classifier per batch size")
    ev.add_argument("--batches", type=int, nargs="+", default=[256, 1000])
    ev.add_argument("--n", type=int, default=20000)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(fn=lambda a: emit(a, evaluator_speed(a.batches, a.n)))
    sl = bs.add_parser("slider", help="a slider's move to the new picture in Chromium, in ms")
    sl.add_argument("--repeats", type=int, default=25)
    sl.add_argument("--json", action="store_true")
    sl.set_defaults(fn=lambda a: emit(a, [_slider(a.repeats)]))
    lat = bs.add_parser("latency", help="render / slider / interpolation latency, p50 and p95")
    lat.add_argument("--weights", nargs="+", help="generator files (default: every shipped model)")
    lat.add_argument("--device", default="cpu")
    lat.add_argument("--repeats", type=int, default=30)
    lat.add_argument("--json", action="store_true")
    lat.set_defaults(fn=lambda a: emit(a, [row for w in (a.weights or _shipped()) for row in latency(w, a.device, a.repeats)]))


def _shipped() -> list[str]:
    lib = ModelLibrary()
    return [str(lib.dir / f"{name}.safetensors") for name in lib.names()]
