"""MNIST GAN Playground: the Gradio layout, wired to ``gan.app.handlers.Playground`` (all the
logic, checks and limits live in gan/app/; this file only places widgets and connects events)."""
from __future__ import annotations

import functools
import logging
import os

import gradio as gr

from gan.app import explanations as say
from gan.app.bursts import burst_in_worker, burst_lease
from gan.app.charts import TRAIN_OUTPUTS, class_histogram, loss_frame
from gan.app.gradio_wiring import endpoint, name_refused_inputs, option_widget, quiet_visitor_errors
from gan.app.handlers import CONTROL_ACTIONS, Playground
from gan.app.library import DEFAULT_MODEL
from gan.app.limits import on_gpu, zero_gpu
from gan.app.page import CSS, JS
from gan.app.requests import (
    ALL,
    FRAMES_RANGE,
    ControlRequest,
    InterpolateRequest,
    ProbeRequest,
    RenderRequest,
    TrainRequest,
    fields_of,
)
from gan.app.runs import DEFAULT_TRAIN_PRESET
from gan.engine.options import FORM_OPTIONS
from gan.inference.explore import N_SLIDERS, SLIDER_RANGE
from gan.models.gallery import FAILURES
from gan.models.registry import preset_names

PLAY = Playground().start()
quiet_visitor_errors()                  # a visitor's mistake is one log line, not a traceback
LIMITS = PLAY.limits

if zero_gpu():                          # Hugging Face ZeroGPU: runs train in GPU bursts (gan/app/bursts.py)
    import spaces
    PLAY.gpu_lease = spaces.GPU(duration=burst_lease)(burst_in_worker)


DIGITS = [ALL] + [str(d) for d in range(10)]


# ------------------------------------------------------------------ layout
with gr.Blocks(title="MNIST GAN Playground", delete_cache=(600, 3600)) as demo:
    gr.Markdown("# MNIST GAN Playground\nPretrained classic GANs to explore, and your own to train live. "
                f"Device: **{'ZeroGPU (training in GPU bursts)' if zero_gpu() else 'GPU' if on_gpu() else 'CPU'}** - up to "
                f"{LIMITS.max_concurrent_runs} training run(s) at once, {LIMITS.max_run_seconds:.0f}s each.")
    with gr.Tab("Explore"):
        with gr.Row():
            model = gr.Dropdown(choices=PLAY.library.choices(), value=DEFAULT_MODEL, label="Model", scale=3)
            with gr.Column(scale=1, min_width=200):
                download_model = gr.DownloadButton("Download model (.safetensors)")
                upload_model = gr.UploadButton("Load your own generator (.safetensors)", file_types=[".safetensors"],
                                               type="filepath")
        info = gr.Markdown()
        with gr.Accordion("What am I looking at? (GANs, FID, the floor, modes)", open=False):
            gr.Markdown(say.EXPLORE)
        with gr.Accordion("The model's layers and shapes", open=False):
            diagram = gr.Markdown()
        with gr.Row(elem_id="explore-row"):
            with gr.Column(scale=2, min_width=280, elem_id="explore-controls"):
                with gr.Row():
                    seed = gr.Number(value=0, label="Seed", minimum=0, info=say.SEED)
                    reseed_btn = gr.Button("Reseed")
                n = gr.Slider(1, LIMITS.max_samples, value=min(50, LIMITS.max_samples), step=1, label="Digits")
                digit = gr.Dropdown(choices=DIGITS, value=ALL, label="Digit (conditional models)", info=say.DIGIT)
                raw = gr.Checkbox(label="Raw latent dimensions instead of principal directions", info=say.RAW)
                picked = gr.Checkbox(label="Start from my digit (found from a drawing or picked on the map)",
                                     info=say.PICKED, elem_id="start-from-pick")
                with gr.Group():
                    gr.Markdown(say.DIRECTIONS)
                    sliders = [gr.Slider(*SLIDER_RANGE, value=0, step=0.05, label=f"Direction {i + 1}")
                               for i in range(N_SLIDERS)]
                reset = gr.Button("Reset sliders")
            with gr.Column(scale=3, min_width=280, elem_id="explore-picture"):
                grid = gr.Image(label="Samples (click a digit: its nearest training digits below)", type="numpy",
                                image_mode="L", format="png", interactive=False, buttons=["download", "fullscreen"],
                                elem_id="samples-grid")
                with gr.Accordion("Is it memorising? The training digits nearest to a clicked digit", open=True,
                                  elem_id="nearest-section"):
                    gr.Markdown(say.NEAREST)
                    near_strip = gr.Image(label="The digit, then its 3 nearest training digits", type="numpy",
                                          image_mode="L", format="png", interactive=False, elem_id="nearest-strip")
                    near_text = gr.Markdown(elem_id="nearest-text")
        with gr.Accordion("Map of this model's digits: click a point to start from it", open=False, elem_id="map-section"):
            gr.Markdown(say.MAP)
            draw_map_btn = gr.Button("Draw the map")
            map_img = gr.Image(label="2,000 samples on the real digits' map (grey), coloured by the digit they show",
                               type="numpy", format="png", interactive=False, elem_id="latent-map")
            map_text = gr.Markdown()
        with gr.Accordion("Interpolate between two seeds", open=False):
            with gr.Row():
                seed_a, seed_b = gr.Number(value=1, label="Seed A"), gr.Number(value=2, label="Seed B")
                digit_a = gr.Dropdown(DIGITS, value="3", label="Digit A")
                digit_b = gr.Dropdown(DIGITS, value="8", label="Digit B")
                frames = gr.Slider(*FRAMES_RANGE, value=10, step=1, label="Frames")
            interp_btn = gr.Button("Interpolate")
            strip = gr.Image(label="Interpolation", type="numpy", image_mode="L", format="png", interactive=False,
                             elem_id="interp-strip")
            gif = gr.File(label="Animated GIF")
        with gr.Accordion("Draw a digit: find it in this model, or probe it", open=False, elem_id="find-section"):
            gr.Markdown(say.FIND)
            with gr.Row():
                sketch = gr.Sketchpad(label="Draw a digit", type="numpy", image_mode="RGBA",
                                      brush=gr.Brush(default_size=20, colors=["#000000"], color_mode="fixed"),
                                      canvas_size=(280, 280), elem_id="probe-sketch")
                upload = gr.File(label="...or upload an image", file_types=["image"], type="filepath")
                with gr.Column():
                    seen = gr.Image(label="What the models see (28x28)", type="numpy", image_mode="L", format="png",
                                    interactive=False, elem_id="probe-seen")
                    probs = gr.Label(label="Evaluator's class", num_top_classes=3)
                    d_score = gr.Markdown()
            with gr.Row():
                find_btn = gr.Button("Find it in this model", variant="primary")
                probe_btn = gr.Button("Probe: real or generated?")
            with gr.Row():
                match = gr.Image(label="The model's closest digit", type="numpy", image_mode="L", format="png",
                                 interactive=False, elem_id="find-match")
                with gr.Column():
                    match_text = gr.Markdown(elem_id="find-text")
                    match_near = gr.Image(label="The match, then its 3 nearest training digits", type="numpy",
                                          image_mode="L", format="png", interactive=False)
                    match_near_text = gr.Markdown()

    with gr.Tab("Train"):
        with gr.Row(elem_id="train-row"):
            with gr.Column(scale=2, elem_id="train-controls"):
                preset = gr.Dropdown(preset_names(), value=DEFAULT_TRAIN_PRESET, label="Preset")
                with gr.Row():
                    length_kind = gr.Radio(["seconds", "steps"], value="seconds", label="Length in")
                    length = gr.Number(value=min(60, LIMITS.max_run_seconds), label="Length", minimum=1)
                init = gr.Radio(["scratch", "pretrained"], value="scratch", label="Start from")
                with gr.Accordion("Options (empty = the preset's default)", open=False):
                    defaults = PLAY.preset_defaults(DEFAULT_TRAIN_PRESET)
                    options = {o.name: option_widget(o, v) for o, v in zip(FORM_OPTIONS, defaults, strict=True)}
                    train_seed = gr.Number(value=0, label="Seed")
                start = gr.Button("Start training", variant="primary")
                with gr.Column(elem_id="run-controls"):           # on a phone: below the live picture
                    with gr.Row():
                        pause, resume, stop = gr.Button("Pause"), gr.Button("Resume"), gr.Button("Stop", variant="stop")
                    with gr.Row():
                        step_d, step_g, step_both = gr.Button("Step D"), gr.Button("Step G"), gr.Button("Step both")
                    apply_lr = gr.Button("Apply learning rates now")
                    control_msg = gr.Markdown()
                    with gr.Accordion("Failure gallery: watch a classic failure, then its fix", open=False):
                        case = gr.Dropdown([(f.title, f.name) for f in FAILURES], value=FAILURES[0].name,
                                           label="Failure")
                        case_text = gr.Markdown(PLAY.gallery_text(FAILURES[0].name))
                        with gr.Row():
                            show_case, fix_case = gr.Button("Reproduce it"), gr.Button("Fix it")
            with gr.Column(scale=3, elem_id="train-outputs"):
                status = gr.Markdown("Pick a preset and press **Start training**.")
                with gr.Row():
                    live_grid = gr.Image(label="Fixed-noise samples", type="numpy", image_mode="L", format="png",
                                         interactive=False, elem_id="live-grid", scale=3)
                    view = gr.Image(label="Fakes among real digits (red: D says fake)",
                                    type="numpy", format="png", interactive=False, elem_id="live-view", scale=2)
                quality = gr.Markdown()
                with gr.Accordion("What am I looking at? (the charts)", open=False):
                    gr.Markdown(say.TRAIN + "\n\n" + say.LIVE_VIEW)
                hist = gr.BarPlot(class_histogram(None), x="digit", y="share", y_lim=[0, 1], height=220,
                                  label="Class histogram (share of each digit in 500 samples)", elem_id="class-hist")
        with gr.Row():
            loss_plot = gr.LinePlot(loss_frame([]), x="step", y="value", color="series", label="Losses",
                                    elem_id="loss-plot")
            d_plot = gr.LinePlot(loss_frame([]), x="step", y="value", color="series", label="D(x) and D(G(z))")
            gn_plot = gr.LinePlot(loss_frame([]), x="step", y="value", color="series", label="Gradient norms")
        compare = gr.LinePlot(loss_frame([]), x="step", y="value", color="series", label="Compare your runs (G loss)",
                              elem_id="compare-plot")

    # ---------------------------------------------------------------- events
    render = endpoint(PLAY.render, RenderRequest, name="render_grid")   # "render" is the public API name below
    explore_inputs = dict(zip(fields_of(RenderRequest), [model, seed, n, digit, raw, picked, *sliders], strict=True))
    explore_in = list(explore_inputs.values())
    # values reach the request checks as sent (preprocess=False): each wrong one is refused by name
    fast = dict(show_progress="hidden", trigger_mode="always_last", concurrency_limit=None, preprocess=False, queue=False,
                api_visibility="private")
    raw_in = dict(preprocess=False)
    for s in sliders:
        s.input(render, explore_in, grid, **fast)
    for comp in (seed, n, digit, raw, picked):       # queued: only a queued event shows a refused value's message (a typed seed)
        comp.change(render, explore_in, grid, **(fast | dict(queue=True)))
    gr.Button(visible=False).click(render, explore_in, grid, api_name="render", concurrency_limit=None, queue=False, **raw_in)
    reseed_btn.click(PLAY.reseed, None, seed, api_name="reseed")
    reset.click(lambda: [0.0] * N_SLIDERS, None, sliders, api_visibility="private").then(render, explore_in, grid, **fast)
    info_outputs = [info, digit, download_model, diagram, digit_a, digit_b]
    model_info = endpoint(PLAY.model_info, params=["model"])
    model.change(model_info, model, info_outputs, api_name="model_info", **raw_in).then(render, explore_in, grid, **fast)
    upload_model.upload(endpoint(PLAY.upload_weights, params=["path"]), upload_model,
                        [model, info], api_name="upload_weights")
    interp_btn.click(endpoint(PLAY.interpolate, InterpolateRequest),
                     [model, seed_a, seed_b, frames, digit_a, digit_b, picked], [strip, gif], api_name="interpolate", **raw_in)
    find_outputs = [seen, match, match_text, match_near, match_near_text, picked, *sliders]
    # a drawing is checked first, by a step without outputs: a refusal (an empty drawing) is a message,
    # not an error on every picture, box and slider the search would have changed
    keep = dict(show_progress="hidden")
    drawing_checked = endpoint(PLAY.check_drawing, ProbeRequest)
    find_btn.click(drawing_checked, [model, sketch, upload], None, api_visibility="private", **keep).success(
        endpoint(PLAY.find_digit, ProbeRequest, params=["raw"], stream=True), [model, sketch, upload, raw],
        find_outputs, api_name="find_digit", concurrency_limit=2, **keep).success(render, explore_in, grid, **fast)
    grid.select(endpoint(PLAY.nearest, RenderRequest, on_select=True), explore_in, [near_strip, near_text],
                api_visibility="private", **raw_in, **keep)
    draw_map_btn.click(endpoint(PLAY.latent_map, params=["model"]), model, map_img, api_name="latent_map", **raw_in)
    map_img.select(endpoint(PLAY.pick_on_map, params=["model", "raw"], on_select=True), [model, raw],
                   [picked, *sliders, map_text], api_visibility="private", **raw_in, **keep
                   ).success(render, explore_in, grid, **fast)
    probe_btn.click(drawing_checked, [model, sketch, upload], None, api_visibility="private", **keep).success(
        endpoint(PLAY.probe, ProbeRequest), [model, sketch, upload], [seen, probs, d_score], api_name="probe")
    demo.load(model_info, model, info_outputs, api_visibility="private", **raw_in).then(render, explore_in, grid, **fast)

    preset.change(endpoint(PLAY.preset_defaults, params=["preset"], name="options"), preset, list(options.values()),
                  api_name="options", **raw_in)
    train_inputs = dict(preset=preset, length_kind=length_kind, length=length, **options, seed=train_seed, init=init)
    assert list(train_inputs) == fields_of(TrainRequest), "the Train tab's inputs follow TrainRequest's fields"
    train_outputs = dict(zip(TRAIN_OUTPUTS, [status, live_grid, view, loss_plot, d_plot, gn_plot, quality, hist, compare],
                             strict=True))
    train = (endpoint(PLAY.train, TrainRequest, stream=True), list(train_inputs.values()), [*train_outputs.values(), model])
    slots = dict(concurrency_limit=LIMITS.max_concurrent_runs, concurrency_id="train", show_progress="minimal", **raw_in)
    start.click(*train, api_name="train", **slots)
    case.change(endpoint(PLAY.gallery_text, params=["name"]), case, case_text, api_name="gallery_text", **raw_in)
    for btn, fix in ((show_case, False), (fix_case, True)):      # fill in the recipe, then start it like Start does
        btn.click(endpoint(functools.partial(PLAY.gallery_form, fix=fix), params=["name"], name="gallery_form"), case,
                  train[1], api_name=f"gallery_{'fix' if fix else 'recipe'}", **raw_in).then(*train, **slots,
                                                                                           api_visibility="private")
    buttons = dict(zip(CONTROL_ACTIONS, (pause, resume, stop, step_d, step_g, step_both, apply_lr)))
    for action, btn in buttons.items():
        btn.click(endpoint(functools.partial(PLAY.control, action), ControlRequest, name=f"control_{action}"),
                  [options["lr_g"], options["lr_d"]], control_msg, api_name=f"control_{action}", concurrency_limit=None, **raw_in)
    demo.unload(endpoint(PLAY.leave))

name_refused_inputs(demo)               # Gradio's own refusals (files, images) name the field too
demo.queue(max_size=int(os.environ.get("GAN_QUEUE_SIZE", 64)))

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("gan").setLevel(logging.INFO)             # one line per refused visitor input
    demo.launch(max_threads=64, max_file_size=int(LIMITS.max_upload_mb * 1e6), css=CSS, js=JS)
