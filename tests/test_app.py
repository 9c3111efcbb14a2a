"""The real app: a local Gradio server driven by gradio_client and by Debian's Chromium."""
import os
import re
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from gan.app.charts import TRAIN_OUTPUTS
from gan.app.requests import ControlRequest, InterpolateRequest, ProbeRequest, TrainRequest, api_call, render_args
from tests.helpers import draw_stroke, open_browser


def _img(path):
    return np.asarray(Image.open(path).convert("L"))


def test_explore_seed_slider_digit(client):
    base = _img(client.predict(**render_args("cgan", 3, 20, "all", False, *([0.0] * 8)), api_name="/render"))
    same = _img(client.predict(**render_args("cgan", 3, 20, "all", False, *([0.0] * 8)), api_name="/render"))
    other_seed = _img(client.predict(**render_args("cgan", 4, 20, "all", False, *([0.0] * 8)), api_name="/render"))
    slid = _img(client.predict(**render_args("cgan", 3, 20, "all", False, 2.5, *([0.0] * 7)), api_name="/render"))
    sevens = _img(client.predict(**render_args("cgan", 3, 20, "7", False, *([0.0] * 8)), api_name="/render"))
    assert np.array_equal(base, same)
    for changed in (other_seed, slid, sevens):
        assert changed.shape == base.shape and not np.array_equal(changed, base)


def test_warm_up_prepares_every_model_for_int8_renders_and_freezes_start_up(server):
    import gc
    app = server[0]
    reports = app.PLAY.library.int8_reports
    assert set(reports) == set(app.PLAY.library.names())         # every shipped model was measured
    assert all(set(r) >= {"used"} for r in reports.values())
    assert gc.get_freeze_count() > 100_000                       # torch, Gradio and the models


def test_bad_api_values_get_a_message_and_the_server_keeps_serving(client):
    from gradio_client.exceptions import AppError
    for args in (("cgan", -5, 20), ("cgan", 1, 10**7), ("nope", 1, 4), ("cgan", "abc", 4), ("cgan", 1, -3)):
        with pytest.raises(AppError):
            client.predict(**render_args(*args, "all", False, *([0.0] * 8)), api_name="/render")
    assert client.predict(**render_args("dcgan", 1, 4, "all", False, *([0.0] * 8)), api_name="/render")


def train_args(**kw) -> dict:
    """One /train call by field name: a small dcgan run unless told otherwise; unset options are the preset's."""
    return api_call(TrainRequest.filled(**(dict(preset="dcgan", length_kind="steps", length=60, batch_size=32, ema=0.0) | kw)))


def test_training_streams_to_the_end_with_growing_curves(client):
    """Curves are redrawn about once a second (PLOT_GAP) while a run trains: the test waits for
    three growing frames, however fast or slow the machine, then stops the run, whose end
    still comes with a quality check of the model it ended with."""
    job = client.submit(**train_args(length_kind="seconds", length=60), api_name="/train")
    sizes, statuses, kinds, stopped = [], [], set(), False
    status, grid, view, losses, quality = (TRAIN_OUTPUTS.index(k) for k in ("status", "live_grid", "view",
                                                                             "loss_plot", "quality"))
    for out in job:
        statuses.append(out[status])
        kinds.add(type(out[losses]).__name__)
        if isinstance(out[losses], dict) and "data" in out[losses]:      # unchanged plots are not re-sent
            sizes.append(len(out[losses]["data"]))
        if len(sizes) >= 3 and not stopped:
            client.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name="/control_stop")
            stopped = True
    step = int(re.search(r"Step (\d+)", statuses[-1]).group(1))
    assert "aborted" in statuses[-1] and step > 0
    assert f"at step {step};" in job.outputs()[-1][quality]      # a quality check of the finished model
    assert len(sizes) >= 3 and sizes[-1] > sizes[0] and sizes == sorted(sizes), (sizes, kinds)
    assert job.outputs()[-1][grid] is not None                  # the sample grid
    assert job.outputs()[-1][view] is not None                  # the fakes on the real digits' map


def test_stop_mid_run(client):
    """Stop ends a 20-second run mid-way, within seconds of the click (it is checked every step)."""
    job = client.submit(**train_args(length_kind="seconds", length=20), api_name="/train")
    t0 = time.time()
    while time.time() - t0 < 60 and not (job.outputs() and re.search(r"Step [1-9]", job.outputs()[-1][0])):
        time.sleep(0.1)
    t_stop = time.time()
    client.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name="/control_stop")
    while not job.done() and time.time() - t_stop < 60:
        time.sleep(0.1)
    assert "aborted" in job.outputs()[-1][0] and time.time() - t_stop < 10


@pytest.mark.browser
def test_browser_slider_and_live_training(server, chromium, tmp_path):
    from playwright.sync_api import expect
    with open_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(server[1])
        grid = page.locator("#samples-grid img").first
        expect(grid).to_be_visible(timeout=30000)
        page.wait_for_timeout(1000)
        before = grid.get_attribute("src")
        page.screenshot(path=str(tmp_path / "explore.png"))
        number = page.get_by_label("number input for Direction 1")
        number.fill("2.5")
        number.press("Enter")
        expect(grid).not_to_have_attribute("src", before, timeout=15000)
        page.screenshot(path=str(tmp_path / "explore-slider.png"))

        page.get_by_role("tab", name="Train").click()
        page.get_by_role("button", name="Start training").click()
        live = page.locator("#live-grid img").first
        expect(live).to_be_visible(timeout=30000)
        expect(page.get_by_text("images/s").first).to_be_visible(timeout=30000)
        expect(page.locator("#loss-plot canvas, #loss-plot svg").first).to_be_visible(timeout=30000)  # plot drew
        expect(page.locator("#loss-plot").get_by_text("d_loss").first).to_be_visible(timeout=30000)  # ...its lines
        first = live.get_attribute("src")
        expect(live).not_to_have_attribute("src", first, timeout=30000)           # the grid updates
        page.screenshot(path=str(tmp_path / "train-live.png"))
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text("aborted").first).to_be_visible(timeout=30000)
        page.screenshot(path=str(tmp_path / "train-stopped.png"), full_page=True)
        shots = os.environ.get("GAN_SCREENSHOTS")
        if shots:
            for f in tmp_path.glob("*.png"):
                shutil.copy(f, shots)


def test_interpolate_and_probe_endpoints(client, tmp_path, mnist_test):
    from gradio_client import handle_file
    strip, gif = client.predict(**api_call(InterpolateRequest("cgan", seed_a=1, seed_b=2, frames=6, digit_a="3", digit_b="8")),
                               api_name="/interpolate")
    assert _img(strip).shape == (4 * 32, 4 * (6 * 30 + 2)) and Image.open(gif).n_frames == 10   # 4x, legible
    path = tmp_path / "seven.png"
    Image.fromarray(255 - np.kron(mnist_test.images[0].numpy(), np.ones((8, 8), np.uint8))).save(path)  # ink on paper
    seen, label, note = client.predict(**api_call(ProbeRequest("cgan", upload=handle_file(str(path)))), api_name="/probe")
    assert label["label"] == "7" and re.search(r"fitted to cgan .* says \*\*\d+\.\d% real", note), note
    seen = _img(seen)                                           # 28x28 shown 8x, nearest-neighbour
    assert seen.shape == (224, 224) and np.array_equal(seen, np.kron(seen[::8, ::8], np.ones((8, 8), np.uint8)))


def test_pause_step_and_resume_through_the_api(client):
    job = client.submit(**train_args(preset="vanilla", length_kind="seconds", length=15), api_name="/train")
    t0 = time.time()
    while not (job.outputs() and "running" in job.outputs()[-1][0]) and time.time() - t0 < 60:
        time.sleep(0.1)
    """The wiring of each control to its endpoint (what each does to the run: tests/app/test_handlers.py)."""
    replies = [client.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name=f"/control_{action}")
               for action in ("pause", "d", "g", "both")]
    assert replies == ["paused", "step d: ok", "step g: ok", "step both: ok"]
    assert client.predict(**api_call(ControlRequest(lr_g=1e-3, lr_d=2e-4)), api_name="/control_lr") == \
        "learning rates set to G 0.001, D 0.0002"
    assert client.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name="/control_resume") == "running again"
    assert client.predict(**api_call(ControlRequest(2e-4, 2e-4)), api_name="/control_stop") == "stopping"
    while not job.done():
        time.sleep(0.2)
    assert "aborted" in job.outputs()[-1][0]


@pytest.mark.browser
def test_closing_the_tab_mid_run_stops_it_and_frees_the_session(server, chromium):
    from playwright.sync_api import expect
    app = server[0]
    before = set(app.PLAY.sessions._sessions)
    with open_browser(chromium) as browser:
        page = browser.new_page()
        page.goto(server[1])
        page.get_by_role("tab", name="Train").click()
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text("images/s").first).to_be_visible(timeout=30000)
        mine = [s for k, s in app.PLAY.sessions._sessions.items() if k not in before and s.active() is not None]
        assert len(mine) == 1
        run = mine[0].active()
        page.close()                                        # the visitor closes the tab mid-run
        assert run.done.wait(30), "the run kept training after its tab closed"
    assert run.status == "aborted"
    t0 = time.time()
    while any(s is mine[0] for s in app.PLAY.sessions._sessions.values()) and time.time() - t0 < 30:
        time.sleep(0.2)
    assert all(s is not mine[0] for s in app.PLAY.sessions._sessions.values())   # its state is gone


# every change of the live grid's picture, timed in the browser
WATCH_LIVE_GRID = """() => {
  window.gridChanges = [];
  const seen = new Set();
  const note = () => document.querySelectorAll('#live-grid img').forEach(img => {
    if (img.src && !seen.has(img.src)) { seen.add(img.src); window.gridChanges.push(performance.now()); } });
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                     attributeFilter: ['src']});
}"""


@pytest.mark.browser
def test_start_at_once_the_first_picture_then_new_ones_keep_coming(server, page):
    """A visitor who clicks Start as soon as the page shows (no waiting for anything to load)
    gets a run with the preset's options, its first picture, then new pictures as it trains;
    Pause shows as paused. How fast (<= 2 s, >= 2 a second) is `python -m gan bench stream`'s
    figure: a test waits on the pictures, so a busy machine makes it slower, never red."""
    from playwright.sync_api import expect
    page.goto(server[1])
    page.get_by_role("tab", name="Train").click()
    page.evaluate(WATCH_LIVE_GRID)
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("images/s").first).to_be_visible(timeout=60000)
    expect(page.get_by_text("Error")).to_have_count(0)
    page.wait_for_function("window.gridChanges.length >= 4", timeout=60000)     # the first and three new ones
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text(re.compile(r"run \d+ \(cgan\)\*\* - paused|- paused\.")).first).to_be_visible(timeout=30000)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("aborted").first).to_be_visible(timeout=60000)


@pytest.mark.browser
def test_download_is_the_grid_on_screen_and_the_probe_draws_at_once(server, page):
    from playwright.sync_api import expect
    page.goto(server[1])
    grid = page.locator("#samples-grid img").first
    expect(grid).to_be_visible(timeout=30000)
    page.get_by_role("button", name="Reseed").click()
    page.wait_for_timeout(500)
    link = page.locator("#samples-grid a[download]").first
    expect(link).to_have_attribute("href", grid.get_attribute("src"), timeout=15000)   # one click, this picture
    page.get_by_text("Draw a digit: find it").click()
    canvas = page.locator("#probe-sketch canvas").first
    expect(canvas).to_be_visible(timeout=15000)
    draw_stroke(page, canvas)
    page.get_by_role("button", name="Probe: real or generated?", exact=True).click()
    expect(page.locator("#probe-seen img").first).to_be_visible(timeout=15000)
    expect(page.get_by_text("Real or generated?").first).to_be_visible(timeout=15000)


@pytest.mark.browser
def test_on_a_phone_the_picture_comes_before_the_sliders(server, chromium):
    from playwright.sync_api import expect
    with open_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(server[1])
        grid = page.locator("#samples-grid img").first
        expect(grid).to_be_visible(timeout=30000)
        slider = page.get_by_label("number input for Direction 1")
        assert grid.bounding_box()["y"] < slider.bounding_box()["y"]
        assert grid.bounding_box()["y"] < 844                   # in the first screenful


def test_the_page_is_built_with_every_training_option_filled_in(server):
    """The Options fields carry the default preset's values in the page itself (no load event
    fills them), and the class histogram's axis starts at 0 so a missing digit shows."""
    from gan.app.runs import DEFAULT_TRAIN_PRESET, app_recipe
    app = server[0]
    props = {c.get("props", {}).get("label"): c["props"] for c in app.demo.config["components"]}
    r = app_recipe(DEFAULT_TRAIN_PRESET)
    assert props["Loss"]["value"] == r.loss and props["Optimizer"]["value"] == r.optimizer
    assert props["G learning rate"]["value"] == r.lr_g and props["D learning rate"]["value"] == r.lr_d
    assert props["Batch size"]["value"] == r.batch_size and props["EMA of G"]["value"] == r.ema
    hist = next(v for k, v in props.items() if k and k.startswith("Class histogram"))
    assert hist["y_lim"][0] == 0
