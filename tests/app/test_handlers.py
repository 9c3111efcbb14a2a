"""Tests of gan/app/handlers.py."""
import numpy as np
import pytest
import torch

from gan.app import handlers, runs
from gan.app import library as model_library
from gan.app import limits as app_limits
from gan.app.handlers import Playground
from gan.app.requests import SLIDER_FIELDS, ProbeRequest, RenderRequest
from gan.app.updates import KEEP, Update
from gan.inference.explore import N_SLIDERS
from gan.inference.latent_map import MAP_SIZE


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


@pytest.fixture
def bare_runs(monkeypatch):
    """Runs without the live view of the reals' map and the quality checks (seconds of the
    evaluator's first start): for tests of something else."""
    monkeypatch.setattr(handlers, "LIVE_VIEW_EVERY", 0)
    monkeypatch.setattr(handlers, "QUALITY_EVERY", 0)


def test_a_length_past_the_servers_cap_is_said_not_silently_cut():
    from gan.app.handlers import length_note
    from gan.app.requests import TrainRequest
    lim = app_limits.Limits(1, 120, 100, 20, 2)
    long = TrainRequest(preset="cgan", length_kind="seconds", length=500)
    cfg = long.to_config(lim, runs.app_recipe("cgan"))
    assert cfg.seconds == 120 and "stops runs after 120 s" in length_note(long, cfg, False) and "500" in length_note(long, cfg, False)
    ok = TrainRequest(preset="cgan", length_kind="seconds", length=120)
    assert length_note(ok, ok.to_config(lim, runs.app_recipe("cgan")), False) == ""
    assert "full width" in length_note(ok, ok.to_config(lim, runs.app_recipe("cgan")), True)


@pytest.mark.parametrize("preset", ["cgan", "dcgan", "wgan-gp"])
def test_a_pretrained_start_trains_the_shipped_full_width_generator(preset, fake_digits, library, tmp_path, bare_runs):
    """The app's CPU recipe builds half-width networks; a pretrained start takes the shipped
    file's architecture instead of failing with a size mismatch."""
    from gan.app.handlers import Playground
    from gan.app.requests import TrainRequest
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)
    play.mnist = fake_digits
    req = TrainRequest.filled(preset, length_kind="steps", length=2, init="pretrained", batch_size=16)
    *_, last = play.train(req, "visitor")
    run = next(iter(play.session("visitor").runs.values()))
    assert run.status == "finished", run.message
    assert run.model.mcfg == library.get(preset)[0].mcfg and "full width" in last[0]


def test_without_mnist_a_visitor_gets_a_plain_sentence_and_the_log_the_details(library, tmp_path, caplog,
                                                                              monkeypatch):
    from gan.app.handlers import Playground
    from gan.app.requests import TrainRequest
    from gan.engine.data import MNISTNotFound
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)

    def missing(self):
        raise MNISTNotFound("MNIST train split not found. Tried: /srv/secret/data (...). Fix: pass --data DIR")
    monkeypatch.setattr(Playground, "mnist", property(missing))
    with pytest.raises(ValueError) as e, caplog.at_level("WARNING", logger="gan.app"):
        next(play.train(TrainRequest.filled("cgan", length_kind="steps", length=2), "visitor"))
    assert "cannot find the MNIST digits" in str(e.value) and "/srv" not in str(e.value) and "--data" not in str(e.value)
    assert "/srv/secret/data" in caplog.text


def _seven() -> np.ndarray:
    a = np.zeros((28, 28), np.uint8)
    a[6, 8:20], a[6:22, 19] = 255, 255
    return a


def test_a_found_digit_becomes_the_visitors_pick_and_the_grid_starts_from_it(library, tmp_path):
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)
    frames = list(play.find_digit(ProbeRequest("cgan", upload=_seven()), False, "me"))
    *searching, last = frames
    assert searching and all(v is KEEP for f in searching for v in f[5:])   # the box and sliders move at the end
    seen, match, words, strip, near_words, box, *sliders = last
    assert box == Update(value=True) and "grey levels" in words and "Nearest training digits" in near_words
    pick = play.session("me").picks["cgan"]
    assert pick.source == "your drawing" and pick.label in range(10) and tuple(sliders) == pick.sliders
    assert len(sliders) == N_SLIDERS and any(s != 0 for s in sliders)
    at_pick = dict(zip(SLIDER_FIELDS, sliders))
    start = play.render(RenderRequest("cgan", seed=3, n=5, picked=True, **at_pick), "me")
    plain = play.render(RenderRequest("cgan", seed=3, n=5, picked=False, **at_pick), "me")
    gen = library.get("cgan")[0]
    first = gen.generate(pick.z[None], torch.tensor([pick.label]), fast=True)[0]
    assert np.abs(start[2:30, 2:30].astype(int) - first).max() <= 1 and not np.array_equal(start, plain)
    moved = play.render(RenderRequest("cgan", seed=3, n=5, picked=True), "me")     # sliders at 0: elsewhere
    assert not np.array_equal(moved[2:30, 2:30], start[2:30, 2:30])
    assert "cgan" not in play.session("someone else").picks        # a pick is the visitor's own
    empty = ProbeRequest("cgan", sketch=np.zeros((280, 280, 4), np.uint8))
    for refuse in (lambda: next(play.find_digit(empty, False, "me")), lambda: play.check_drawing(empty)):
        with pytest.raises(ValueError, match="draw a digit"):
            refuse()
    play.check_drawing(ProbeRequest("cgan", upload=_seven()))          # a digit passes


def test_a_click_on_the_map_picks_that_sample_and_moves_the_sliders_to_it(library, tmp_path):
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)
    m = play._map("dcgan", play.session("me"))
    i = 42
    px, py = m.xy[i, 0] * (MAP_SIZE - 1), (1 - m.xy[i, 1]) * (MAP_SIZE - 1)
    for raw in (False, True):
        box, *sliders, words = play.pick_on_map("dcgan", raw, px, py, "me")
        pick = play.session("me").picks["dcgan"]
        assert box == Update(value=True) and f"**{int(m.classes[i])}**" in words and pick.raw is raw
        assert torch.equal(pick.z, m.z[m.pick(px, py)]) and tuple(sliders) == pick.sliders
        if raw:                                     # raw sliders: the latent's own first coordinates, rounded
            assert np.allclose(sliders, pick.z[:N_SLIDERS].clamp(-3, 3).numpy(), atol=0.025 + 1e-6)
        grid = play.render(RenderRequest("dcgan", seed=1, n=3, raw=raw, picked=True, **dict(zip(SLIDER_FIELDS, sliders))), "me")
        first = library.get("dcgan")[0].generate(pick.z[None], None, fast=True)[0]
        assert np.abs(grid[2:30, 2:30].astype(int) - first).max() <= 1
    box, *sliders, words = play.pick_on_map("dcgan", False, 10, MAP_SIZE + 10, "me")    # the legend: nothing moves
    assert box is KEEP and sliders == [KEEP] * N_SLIDERS and "the legend" in words
    with pytest.raises(ValueError, match="x must be"):
        play.pick_on_map("dcgan", False, float("nan"), 10, "me")
    with pytest.raises(ValueError, match="raw must be true or false"):
        play.pick_on_map("dcgan", "yes", px, py, "me")


def test_a_click_on_a_grid_digit_shows_that_digits_nearest_training_digits(library, tmp_path):
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)
    req = RenderRequest("cgan", seed=5, n=20)
    grid = play.render(req, "me")
    strip, words = play.nearest(req, 30 * 3 + 10, 30 * 1 + 10, "me")         # row 2, column 4: digit 14
    assert np.array_equal(strip[6:90:3, 6:90:3], grid[32:60, 92:120]) and "digit 14 of the grid" in words
    assert play.nearest(req, 1, 1, "me") == (KEEP, "That was the gap between two digits: click on a digit.")


def _until(condition, timeout=60.0, what="the condition"):
    """Wait for ``condition()`` (the run's own thread makes it true); fail after ``timeout`` s."""
    import time
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.01)


def test_every_run_control_changes_the_run_itself_not_only_the_reply(fake_digits, library, tmp_path, monkeypatch,
                                                                     bare_runs):
    """Pause, single D/G/both steps, learning rates, resume and stop, each checked on the trainer
    (its step counts and optimizers) rather than on the sentence the button answers with."""
    import threading
    import time

    from gan.app.requests import ControlRequest, TrainRequest
    made = []

    class Recorded(runs.Trainer):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(self)
    monkeypatch.setattr(runs, "Trainer", Recorded)
    play = Playground(limits=app_limits.Limits(1, 120, 100, 20, 2), library=library, tmp=tmp_path)
    play.mnist = fake_digits
    req = TrainRequest.filled("vanilla", length_kind="seconds", length=120, batch_size=16)
    frames = []
    stream = threading.Thread(target=lambda: frames.extend(play.train(req, "visitor")), daemon=True)
    stream.start()
    same = ControlRequest(2e-4, 2e-4)
    try:
        _until(lambda: made and made[0].step >= 3, what="three steps")
        t = made[0]
        assert play.control("pause", same, "visitor") == "paused"
        paused_at = t.step
        time.sleep(0.5)
        assert t.step <= paused_at + 1                               # at most the step in flight
        held, d_held = t.step, t.d_step_count
        time.sleep(0.5)
        assert (t.step, t.d_step_count) == (held, d_held), "a paused run went on training"

        assert play.control("d", same, "visitor") == "step d: ok"
        _until(lambda: t.d_step_count == d_held + 1, what="one D step")
        assert t.step == held
        assert play.control("g", same, "visitor") == "step g: ok"
        _until(lambda: t.step == held + 1, what="one G step")
        assert t.d_step_count == d_held + 1
        assert play.control("both", same, "visitor") == "step both: ok"
        # both counts: under vanilla's G-first order the G step's count moves before the D step runs
        _until(lambda: t.step == held + 2 and t.d_step_count >= d_held + 1 + t.cfg.d_steps, what="one step of both")
        assert (t.step, t.d_step_count) == (held + 2, d_held + 1 + t.cfg.d_steps)

        assert play.control("lr", ControlRequest(lr_g=1e-3, lr_d=5e-4), "visitor") == \
            "learning rates set to G 0.001, D 0.0005"
        _until(lambda: t.lr == (1e-3, 5e-4), what="the new learning rates")
        time.sleep(0.3)
        assert t.step == held + 2, "a paused run went on training"

        assert play.control("resume", same, "visitor") == "running again"
        _until(lambda: t.step >= held + 5, what="training to go on")
        run = play.session("visitor").active()
        _until(lambda: run.history and run.history[-1]["lr_g"] == 1e-3, what="the new rates in the curves")
        assert play.control("stop", same, "visitor") == "stopping"
        _until(lambda: run.done.is_set(), what="the run to end")
        assert run.status == "aborted"
    finally:
        play.leave("visitor")
        stream.join(30)
    assert not stream.is_alive()
