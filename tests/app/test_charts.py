"""Tests of gan/app/charts.py."""
import pytest

from gan.app import charts, runs
from gan.app import limits as app_limits
from tests.helpers import tiny_config


def _run_with(names_and_losses):
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 4))
    for name, losses in names_and_losses:
        r = runs.Run(name=name, cfg=tiny_config("dcgan"), status="finished")
        r.history = [{"step": i + 1, "g_loss": v} for i, v in enumerate(losses)]
        session.runs[name] = r
    return session, r


def test_paused_runs_say_so():
    run = runs.Run(name="r", cfg=tiny_config("dcgan"), status="running")
    assert "- running." in charts.status_line(run)
    run.control.pause()
    assert "- paused." in charts.status_line(run) and "ETA" not in charts.status_line(run)


def test_charts_get_typed_frames_and_never_an_empty_one():
    """Gradio's charts read a column's type from the frames they get: data frames are typed, and
    a run never sends an empty frame (an empty update made the histogram's shares categories)."""
    full = charts.class_histogram({"class_hist": [0.1] * 10})
    assert str(full.dtypes["share"]) == "float64" and list(full["digit"]) == [str(d) for d in range(10)]
    run = runs.Run(name="r", cfg=tiny_config("dcgan"), status="running")
    session = runs.Session(app_limits.Limits(1, 60, 100, 20, 2))
    session.runs["r"] = run
    out = dict(zip(charts.TRAIN_OUTPUTS, charts.train_outputs(run, session)))
    assert all(out[k] is charts.KEEP for k in ("loss_plot", "d_plot", "gn_plot", "hist"))
    assert out["compare"] == {"visible": False}                    # hidden first: shown again, it is rebuilt
    run.history.append({"step": 5, "d_loss": 1.2, "g_loss": 0.7, "d_real": 0.6, "d_fake": 0.4,
                        "grad_norm_d": 3.0, "grad_norm_g": 1.0})
    run.quality.append({"step": 5, "fid_ratio": 50.0, "modes": 9, "class_hist": [0.1] * 10})
    out = dict(zip(charts.TRAIN_OUTPUTS, charts.train_outputs(run, session, final=True)))
    assert str(out["loss_plot"].dtypes["value"]) == "float64" and len(out["loss_plot"]) == 2
    assert str(out["hist"].dtypes["share"]) == "float64"


def test_the_histogram_starts_as_ten_typed_zero_bars():
    """An empty first frame made the browser read the shares as categories for good."""
    empty = charts.class_histogram(None)
    assert list(empty["share"]) == [0.0] * 10 and str(empty.dtypes["share"]) == "float64"


def test_compare_hides_then_shows_every_run_as_its_own_line():
    session, last = _run_with([("run 1 (vanilla)", [1.0, 2.0]), ("run 2 (vanilla)", [3.0, 4.0, 5.0])])
    sent = {}
    first = charts.compare_update(list(session.runs.values()), sent, final=False)
    second = charts.compare_update(list(session.runs.values()), sent, final=False)
    assert first == {"visible": False} and second["visible"] is True
    frame = second["value"]
    assert {s: list(frame[frame["series"] == s]["value"]) for s in frame["series"].unique()} == {
        "run 1 (vanilla)": [1.0, 2.0], "run 2 (vanilla)": [3.0, 4.0, 5.0]}
    final = charts.compare_update(list(session.runs.values()), {}, final=True)   # a last frame always shows the data
    assert final["visible"] is True and len(final["value"]) == 5


@pytest.mark.parametrize("q, says", [
    ({"modes": 1, "crisp": 0.99}, "mode collapse"),
    ({"modes": 7, "crisp": 0.85}, "mode collapse"),                  # at the threshold: digits
    ({"modes": 8, "crisp": 0.95}, "8 of 10 digits present"),
    ({"modes": 1, "crisp": 0.849}, "no clear digits yet"),          # grey fog the classifier reads as an 8
])
def test_the_quality_line_tells_no_digits_yet_from_collapse(q, says):
    line = charts.quality_line({"step": 50, "fid_ratio": 100.0, "class_hist": [0.1] * 10} | q)
    assert says in line
    assert ("mode collapse" in line) == (says == "mode collapse")


def test_the_status_line_says_each_thing_once():
    run = runs.Run(name="run 1 (cgan)", cfg=tiny_config("dcgan", steps=None, seconds=120), status="running",
                   images_per_sec=812.0, step=40, total=None, elapsed=3.0)
    assert "812 images/s" in charts.status_line(run)
    run.control.pause()
    assert "images/s" not in charts.status_line(run) and "- paused." in charts.status_line(run)
    run.control.resume()
    run.status, run.message, run.total, run.step = "finished", "finished at step 205", 205, 205
    run.done.set()
    line = charts.status_line(run, final=True)
    assert line.count("205") == 2 and "finished at step" not in line and "images/s" not in line   # "Step 205/205"
    run.step = 150                                                       # the server's cap ended it early
    assert "reached the server's 120 s limit before step 205" in charts.status_line(run, final=True)
