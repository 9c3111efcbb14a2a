"""MNIST GAN Playground: Gradio wiring over the ``gan`` core (all logic lives in gan/playground.py)."""
from __future__ import annotations

import functools
import os
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np

from gan import playground as pg
from gan.config import TrainConfig
from gan.data import MNISTNotFound
from gan.explore import N_SLIDERS
from gan.losses import LOSSES
from gan.priority import Foreground
from gan.registry import get_preset, preset_names

LIMITS = pg.Limits.from_env()
LIBRARY = pg.ModelLibrary()
SESSIONS = pg.SessionStore(LIMITS)
FOREGROUND = Foreground()               # on a CPU, training yields to slider renders between steps
WARM_UP = threading.Thread(target=pg.warm_up, args=(LIBRARY,), name="warm-up", daemon=True)
WARM_UP.start()
TMP = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "gan-playground"
TMP.mkdir(parents=True, exist_ok=True)
# Digit images travel at their true size as PNG (cheap to encode) and are enlarged by the
# browser without smoothing.
CSS = """
#samples-grid img, #live-grid img, #interp-strip img, #probe-seen img {
    image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }
"""
RUN_PREFIX = "my "
UPLOAD_PREFIX = "upload: "

try:                                    # ZeroGPU hardware on Hugging Face Spaces
    import spaces
    gpu = spaces.GPU(duration=int(LIMITS.max_run_seconds) + 30)
except ImportError:
    def gpu(fn):
        return fn


@functools.lru_cache(maxsize=1)
def mnist():
    from gan.data import load_mnist
    return load_mnist("train", download=True)


def _session(request: gr.Request) -> pg.Session:
    return SESSIONS.get(getattr(request, "session_hash", None) or "anonymous")


def _resolve(key: str, session: pg.Session):
    """Dropdown value -> (GeneratorModel, Explorer, run or None)."""
    if key and key.startswith(RUN_PREFIX):
        run = session.runs.get(key[len(RUN_PREFIX):])
        if run is None or run.explorer is None:
            raise gr.Error(f"{key!r} is not available (still training, failed, or removed)")
        return run.model, run.explorer, run
    if key and key.startswith(UPLOAD_PREFIX):
        if key[len(UPLOAD_PREFIX):] not in session.uploads:
            raise gr.Error(f"{key!r} is not loaded any more; upload it again")
        return *session.uploads[key[len(UPLOAD_PREFIX):]], None
    try:
        model, explorer = LIBRARY.get(key)
    except ValueError as e:
        raise gr.Error(str(e)) from None
    return model, explorer, None


def _model_choices(session: pg.Session) -> list[tuple[str, str]]:
    runs = [(f"{RUN_PREFIX}{name} - {r.status}", f"{RUN_PREFIX}{name}") for name, r in session.runs.items()
            if r.model is not None]
    uploads = [(f"{UPLOAD_PREFIX}{name}", f"{UPLOAD_PREFIX}{name}") for name in session.uploads]
    return [(LIBRARY.label(n), n) for n in LIBRARY.names()] + runs + uploads


def guard(fn):
    """Turn bad input into a visible message instead of a server error."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:
            raise gr.Error(str(e)) from None
    return wrapper


# ------------------------------------------------------------------ explore handlers
@guard
def render_grid(model_key, seed, n, digit, raw, s1, s2, s3, s4, s5, s6, s7, s8, request: gr.Request):
    # one named parameter per slider: Gradio injects gr.Request only into a named, annotated one
    _, explorer, _ = _resolve(model_key, _session(request))
    sliders = [s1, s2, s3, s4, s5, s6, s7, s8]
    with FOREGROUND.request():
        return pg.render(explorer, seed, n, sliders, digit, bool(raw), LIMITS)


@guard
def model_info(model_key, request: gr.Request):
    model, _, run = _resolve(model_key, _session(request))
    m = LIBRARY.metrics.get(model_key, {})
    lines = [f"**{model.preset}** - {get_preset(model.preset).description}"]
    if m:
        lines.append(f"FID {m['fid']:.3f} ({m['fid_ratio']:.1f}x the real-data floor), classifier score "
                     f"{m['classifier_score']:.2f}, {m['modes']} modes, precision {m['precision']:.2f}, recall {m['recall']:.2f}")
    if run is not None:
        lines.append(f"Your run: {run.status} after {run.step} steps. {run.message}")
    digit_update = gr.update(interactive=model.conditional)
    if run is not None:
        path = str(pg.export_run(run, TMP))
    elif model_key.startswith(UPLOAD_PREFIX):
        path = None                                 # the visitor's own file: nothing to hand back
    else:
        path = str(LIBRARY.dir / f"{model_key}.safetensors")
    return "\n\n".join(lines), digit_update, gr.update(value=path)


@guard
def upload_weights(path, request: gr.Request):
    session = _session(request)
    name = session.add_upload(path)
    key = f"{UPLOAD_PREFIX}{name}"
    return gr.update(choices=_model_choices(session), value=key), f"Loaded **{name}**: pick it above to explore it."


def reseed():
    return int(np.random.default_rng().integers(0, 2**31 - 1))


@guard
def save_png(image):
    if image is None:
        raise gr.Error("nothing to download yet")
    from PIL import Image
    path = TMP / f"grid-{time.time_ns()}.png"
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path)
    return str(path)


@guard
def interpolate(model_key, seed_a, seed_b, frames, digit_a, digit_b, request: gr.Request):
    model, _, _ = _resolve(model_key, _session(request))
    with FOREGROUND.request():
        strip, imgs = pg.interpolation(model, seed_a, seed_b, frames, digit_a, digit_b)
    gif = pg.write_gif(imgs, TMP / f"interp-{time.time_ns()}.gif")
    return strip, str(gif)


@guard
def probe(model_key, sketch, upload, request: gr.Request):
    model, _, run = _resolve(model_key, _session(request))
    digit = pg.decode_drawing(upload if upload is not None else sketch)
    if run is not None:
        disc, loss, whose = run.discriminator, run.cfg.loss, "your run's discriminator"
    else:
        fitted = LIBRARY.discriminator(model_key)
        disc, loss = (fitted[0], fitted[1]["loss"]) if fitted else (None, "")
        whose = f"a discriminator fitted to {model_key} ({fitted[1]['steps']} steps)" if fitted else ""
    with FOREGROUND.request():
        res = pg.probe(digit, disc, model.mcfg.output, loss or "non-saturating")
    labels = {str(i): p for i, p in enumerate(res["probs"])}
    note = (f"Real or generated? {whose} says **{res['real_score']:.1%} real**." if "real_score" in res else
            "No discriminator for this model: train a run to probe its own.")
    return digit, labels, note


# ------------------------------------------------------------------ train handlers
def _config(preset, length_kind, length, loss, optimizer, lr_g, lr_d, d_steps, batch, smoothing, digits, ema, seed):
    if length_kind not in ("seconds", "steps"):
        raise ValueError(f"length must be in 'seconds' or 'steps', got {length_kind!r}")
    length = pg.check_float("length", length, 1, 10**7)
    secs = min(length if length_kind == "seconds" else LIMITS.max_run_seconds, LIMITS.max_run_seconds)
    steps = pg.check_int("steps", length, 1, 10**7) if length_kind == "steps" else None
    if digits is not None and not isinstance(digits, (list, tuple)):
        raise ValueError(f"digits must be a list of digits 0-9, got {digits!r}")
    digits = tuple(sorted(pg.check_int("digit", d, 0, 9) for d in digits)) if digits else None
    return TrainConfig.for_preset(
        preset, loss=loss, optimizer=optimizer, lr_g=pg.check_float("G learning rate", lr_g, 1e-6, 0.1),
        lr_d=pg.check_float("D learning rate", lr_d, 1e-6, 0.1), d_steps=pg.check_int("D steps", d_steps, 1, 10),
        batch_size=pg.check_int("batch", batch, 8, 1024), label_smoothing=pg.check_float("label smoothing", smoothing, 0, 0.5),
        digits=digits, ema=pg.check_float("EMA", ema, 0, 0.9999), seed=pg.check_int("seed", seed, 0, 2**31 - 1),
        steps=steps, seconds=secs, log_every=10, sample_every=50, model=pg.app_recipe(preset).model)


def _train_outputs(run: pg.Run, session: pg.Session, final: bool = False, sent: dict | None = None):
    """The Train tab's outputs. ``sent`` remembers what the browser already shows: unchanged
    grids, plots and histograms are skipped (gr.update()), so a throttled run costs the server
    little more than its status line."""
    sent = {} if sent is None else sent

    def changed(name: str, version) -> bool:         # version: a count, or the object itself (the grid)
        same = name in sent and (sent[name] is version or type(version) is int and sent[name] == version)
        if final or not same:
            sent[name] = version
            return True
        return False

    frac, eta = pg.elapsed_eta(run)
    status = (f"**{run.name}** - {run.status}. Step {run.step}"
              f"{f'/{run.total}' if run.total else ''}, {run.images_per_sec:,.0f} images/s, "
              f"{run.elapsed:.0f}s elapsed{f', ETA {eta:.0f}s' if eta is not None and not final else ''}. {run.message}")
    bar = f"<progress value='{frac:.3f}' max='1' style='width:100%'></progress>"
    grid = run.grid if changed("grid", run.grid) else gr.update()
    if changed("history", len(run.history)):
        plots = (pg.loss_frame([run]), pg.loss_frame([run], keys=("d_real", "d_fake")),
                 pg.loss_frame([run], keys=("grad_norm_d", "grad_norm_g")))
        compare = pg.loss_frame(list(session.runs.values()), keys=("g_loss",))
    else:
        plots, compare = (gr.update(),) * 3, gr.update()
    q = run.quality[-1] if run.quality else None
    if changed("quality", len(run.quality)):
        quality = "Quality check every 200 steps (FID on 500 samples)." if q is None else (
            f"Quick FID {q['fid_ratio']:.0f}x floor at step {q['step']}; {q['modes']}/10 digits present"
            + (" - **warning: modes are dropping (mode collapse)**" if q["modes"] < 8 else ""))
        hist = pg.pd_frame([{"digit": str(i), "share": h} for i, h in enumerate(q["class_hist"])] if q else [],
                           ["digit", "share"])
    else:
        quality, hist = gr.update(), gr.update()
    return (status + "\n\n" + bar, grid, *plots, quality, hist, compare)


@gpu
def train_stream(preset, length_kind, length, loss, optimizer, lr_g, lr_d, d_steps, batch, smoothing, digits, ema,
                 seed, init, request: gr.Request):
    session = _session(request)
    if session.active() is not None:
        raise gr.Error("you already have a run going: stop it first")
    try:
        if init not in ("scratch", "pretrained"):
            raise ValueError(f"start from 'scratch' or 'pretrained', got {init!r}")
        cfg = _config(preset, length_kind, length, loss, optimizer, lr_g, lr_d, d_steps, batch, smoothing, digits, ema, seed)
        init_model = LIBRARY.get(preset)[0] if init == "pretrained" and preset in LIBRARY.names() else None
        run, thread = pg.start_run(session, cfg, mnist(), quality_every=200, init_from=init_model,
                                   foreground=None if pg.on_gpu() else FOREGROUND)
    except (ValueError, MNISTNotFound) as e:
        raise gr.Error(str(e)) from None
    try:
        sent: dict = {}
        while not run.done.wait(0.4):
            yield _train_outputs(run, session, sent=sent) + (gr.update(),)
        yield _train_outputs(run, session, final=True) + (gr.update(choices=_model_choices(session)),)
    finally:
        run.control.stop()                          # visitor left or the event was cancelled
        thread.join(timeout=10)


def control(action):
    def handler(lr_g, lr_d, request: gr.Request):
        run = _session(request).active()
        if run is None:
            raise gr.Error("no run is going")
        if action == "lr":
            run.control.set_lr(pg.check_float("G learning rate", lr_g, 1e-6, 0.1), pg.check_float("D learning rate", lr_d, 1e-6, 0.1))
            return f"learning rates set to G {lr_g:g}, D {lr_d:g}"
        {"pause": run.control.pause, "resume": run.control.resume, "stop": run.control.stop}.get(
            action, lambda: run.control.request_step(action))()
        return f"{action}: ok"
    return guard(handler)


def preset_defaults(preset):
    try:
        r = pg.app_recipe(preset)
    except ValueError as e:
        raise gr.Error(str(e)) from None
    return r.loss, r.optimizer, r.lr_g, r.lr_d, r.d_steps, r.batch_size, r.label_smoothing, r.ema, list(r.digits or [])


def leave(request: gr.Request):
    SESSIONS.drop(getattr(request, "session_hash", None) or "anonymous")


# ------------------------------------------------------------------ layout
with gr.Blocks(title="MNIST GAN Playground", delete_cache=(600, 3600)) as demo:
    gr.Markdown("# MNIST GAN Playground\nPretrained classic GANs to explore, and your own to train live. "
                f"Device: **{'GPU' if pg.on_gpu() else 'CPU'}** - up to "
                f"{LIMITS.max_concurrent_runs} training run(s) at once, {LIMITS.max_run_seconds:.0f}s each.")
    with gr.Tab("Explore"):
        with gr.Row():
            model = gr.Dropdown(choices=[(LIBRARY.label(n), n) for n in LIBRARY.names()], value=pg.DEFAULT_MODEL,
                                label="Model", scale=3)
            with gr.Column(scale=1, min_width=200):
                download_model = gr.DownloadButton("Download model (.safetensors)")
                upload_model = gr.UploadButton("Load your own generator (.safetensors)", file_types=[".safetensors"],
                                               type="filepath")
        info = gr.Markdown()
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Row():
                    seed = gr.Number(value=0, label="Seed", minimum=0)
                    reseed_btn = gr.Button("Reseed")
                n = gr.Slider(1, LIMITS.max_samples, value=min(50, LIMITS.max_samples), step=1, label="Digits")
                digit = gr.Dropdown(choices=["all"] + [str(d) for d in range(10)], value="all", label="Digit (conditional models)")
                raw = gr.Checkbox(label="Raw latent dimensions instead of principal directions")
                sliders = [gr.Slider(-3, 3, value=0, step=0.05, label=f"Direction {i + 1}") for i in range(N_SLIDERS)]
                reset = gr.Button("Reset sliders")
            with gr.Column(scale=3):
                grid = gr.Image(label="Samples", type="numpy", image_mode="L", format="png", height=560, interactive=False,
                                elem_id="samples-grid")
                png_btn = gr.DownloadButton("Download grid (.png)")
        with gr.Accordion("Interpolate between two seeds", open=False):
            with gr.Row():
                seed_a, seed_b = gr.Number(value=1, label="Seed A"), gr.Number(value=2, label="Seed B")
                digit_a = gr.Dropdown(["all"] + [str(d) for d in range(10)], value="3", label="Digit A")
                digit_b = gr.Dropdown(["all"] + [str(d) for d in range(10)], value="8", label="Digit B")
                frames = gr.Slider(2, 30, value=10, step=1, label="Frames")
            interp_btn = gr.Button("Interpolate")
            strip = gr.Image(label="Interpolation", type="numpy", image_mode="L", format="png", interactive=False,
                             elem_id="interp-strip")
            gif = gr.File(label="Animated GIF")
        with gr.Accordion("Discriminator probe: draw or upload a digit", open=False):
            with gr.Row():
                sketch = gr.Sketchpad(label="Draw", type="numpy", image_mode="RGBA")
                upload = gr.File(label="...or upload an image", file_types=["image"], type="filepath")
                with gr.Column():
                    seen = gr.Image(label="What the models see (28x28)", type="numpy", image_mode="L", format="png",
                                    interactive=False, elem_id="probe-seen")
                    probs = gr.Label(label="Evaluator's class", num_top_classes=3)
                    d_score = gr.Markdown()
            probe_btn = gr.Button("Probe")

    with gr.Tab("Train"):
        with gr.Row():
            with gr.Column(scale=2):
                preset = gr.Dropdown(preset_names(), value=pg.DEFAULT_TRAIN_PRESET, label="Preset")
                with gr.Row():
                    length_kind = gr.Radio(["seconds", "steps"], value="seconds", label="Length in")
                    length = gr.Number(value=min(60, LIMITS.max_run_seconds), label="Length", minimum=1)
                init = gr.Radio(["scratch", "pretrained"], value="scratch", label="Start from")
                with gr.Accordion("Options", open=False):
                    loss = gr.Dropdown(list(LOSSES), label="Loss")
                    optimizer = gr.Dropdown(["adam", "rmsprop"], label="Optimizer")
                    lr_g = gr.Number(label="G learning rate")
                    lr_d = gr.Number(label="D learning rate")
                    d_steps = gr.Slider(1, 10, step=1, label="D steps per G step")
                    batch = gr.Slider(8, 1024, step=8, label="Batch size")
                    smoothing = gr.Slider(0, 0.5, step=0.05, label="Label smoothing")
                    digits = gr.CheckboxGroup([str(d) for d in range(10)], label="Train on digits (none = all)")
                    ema = gr.Slider(0, 0.9999, step=0.0001, label="EMA of G")
                    train_seed = gr.Number(value=0, label="Seed")
                start = gr.Button("Start training", variant="primary")
                with gr.Row():
                    pause, resume, stop = gr.Button("Pause"), gr.Button("Resume"), gr.Button("Stop", variant="stop")
                with gr.Row():
                    step_d, step_g, step_both = gr.Button("Step D"), gr.Button("Step G"), gr.Button("Step both")
                apply_lr = gr.Button("Apply learning rates now")
                control_msg = gr.Markdown()
            with gr.Column(scale=3):
                status = gr.Markdown("Pick a preset and press **Start training**.")
                live_grid = gr.Image(label="Fixed-noise samples", type="numpy", image_mode="L", format="png", height=420,
                                     interactive=False,
                                     elem_id="live-grid")
                quality = gr.Markdown()
                hist = gr.BarPlot(pg.pd_frame([], ["digit", "share"]), x="digit", y="share", label="Class histogram")
        with gr.Row():
            loss_plot = gr.LinePlot(pg.loss_frame([]), x="step", y="value", color="series", label="Losses",
                                    elem_id="loss-plot")
            d_plot = gr.LinePlot(pg.loss_frame([]), x="step", y="value", color="series", label="D(x) and D(G(z))")
            gn_plot = gr.LinePlot(pg.loss_frame([]), x="step", y="value", color="series", label="Gradient norms")
        compare = gr.LinePlot(pg.loss_frame([]), x="step", y="value", color="series", label="Compare your runs (G loss)")

    # ---------------------------------------------------------------- events
    explore_inputs = [model, seed, n, digit, raw, *sliders]
    fast = dict(show_progress="hidden", trigger_mode="always_last", concurrency_limit=None)
    for s in sliders:
        s.input(render_grid, explore_inputs, grid, api_visibility="private", **fast)
    for comp in (seed, n, digit, raw):
        comp.change(render_grid, explore_inputs, grid, api_visibility="private", **fast)
    gr.Button(visible=False).click(render_grid, explore_inputs, grid, api_name="render", concurrency_limit=None)
    reseed_btn.click(reseed, None, seed, api_name="reseed")
    reset.click(lambda: [0.0] * N_SLIDERS, None, sliders).then(render_grid, explore_inputs, grid, **fast)
    model.change(model_info, model, [info, digit, download_model], api_name="model_info").then(
        render_grid, explore_inputs, grid, **fast)
    png_btn.click(save_png, grid, png_btn)
    upload_model.upload(upload_weights, upload_model, [model, info], api_name="upload_weights")
    interp_btn.click(interpolate, [model, seed_a, seed_b, frames, digit_a, digit_b], [strip, gif], api_name="interpolate")
    probe_btn.click(probe, [model, sketch, upload], [seen, probs, d_score], api_name="probe")
    demo.load(model_info, model, [info, digit, download_model]).then(render_grid, explore_inputs, grid)
    demo.load(preset_defaults, preset, [loss, optimizer, lr_g, lr_d, d_steps, batch, smoothing, ema, digits])

    preset.change(preset_defaults, preset, [loss, optimizer, lr_g, lr_d, d_steps, batch, smoothing, ema, digits])
    train_event = start.click(
        train_stream, [preset, length_kind, length, loss, optimizer, lr_g, lr_d, d_steps, batch, smoothing, digits, ema,
                       train_seed, init],
        [status, live_grid, loss_plot, d_plot, gn_plot, quality, hist, compare, model],
        api_name="train", concurrency_limit=LIMITS.max_concurrent_runs, concurrency_id="train", show_progress="minimal")
    for btn, action in ((pause, "pause"), (resume, "resume"), (stop, "stop"), (step_d, "d"), (step_g, "g"),
                        (step_both, "both"), (apply_lr, "lr")):
        btn.click(control(action), [lr_g, lr_d], control_msg, api_name=f"control_{action}", concurrency_limit=None)
    demo.unload(leave)

demo.queue(max_size=int(os.environ.get("GAN_QUEUE_SIZE", 64)))

if __name__ == "__main__":
    demo.launch(max_threads=64, max_file_size=int(LIMITS.max_upload_mb * 1e6), css=CSS)
