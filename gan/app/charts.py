"""The Train tab's outputs as data: the status line, the loss / D(x) / gradient-norm curves,
the quality line and the class histogram. ``train_outputs`` sends only what changed since
the last frame (``KEEP`` for the rest), so a throttled run costs the server little more than
its status line."""
from __future__ import annotations

import math
import time

import pandas as pd

from gan.app.runs import QUALITY_EVERY, Run, Session
from gan.app.updates import KEEP, Update

PLOT_GAP = 1.0                          # seconds between two redraws of a run's curves in the browser
LOSS_COLUMNS = {"step": "int64", "value": "float64", "series": "str"}
HIST_COLUMNS = {"digit": "str", "share": "float64"}
TRAIN_OUTPUTS = ("status", "live_grid", "view", "loss_plot", "d_plot", "gn_plot", "quality", "hist", "compare")


def loss_frame(runs: list[Run], keys=("d_loss", "g_loss"), max_points: int = 400, series=None):
    """Long-format DataFrame (step, value, series) for gr.LinePlot, downsampled per series;
    ``series(run, key)`` names a line (default: the key, prefixed by the run's name when several)."""
    series = series or (lambda run, k: f"{run.name}: {k}" if len(runs) > 1 else k)
    rows = []
    for run in runs:
        hist = run.history
        stride = max(1, math.ceil(len(hist) / max_points))
        for h in hist[::stride]:
            for k in keys:
                if h.get(k) is not None and math.isfinite(h[k]):
                    rows.append({"step": h["step"], "value": h[k], "series": series(run, k)})
    return pd_frame(rows, LOSS_COLUMNS)


def elapsed_eta(run: Run) -> tuple[float, float | None]:
    if run.total:
        frac = run.step / max(run.total, 1)
    elif run.cfg.seconds:
        frac = run.elapsed / run.cfg.seconds
    else:
        return run.elapsed, None
    frac = min(max(frac, 1e-6), 1.0)
    return frac, run.elapsed * (1 - frac) / frac


def pd_frame(rows: list[dict], columns: dict[str, str]):
    """A DataFrame with typed columns; with no rows, an untyped empty frame. Gradio's browser
    charts are picky: a line plot whose first frame is typed-and-empty never draws its lines, and
    a bar chart updated with an empty frame before its data reads the numbers as categories (the
    histogram's axis that 'started at 0.09'). So pages start from untyped empty frames and runs
    never send empty ones (``train_outputs`` keeps the chart instead)."""
    return pd.DataFrame(rows, columns=list(columns)).astype(columns) if rows else pd.DataFrame(columns=list(columns))


def _or_keep(frame):
    """An empty frame is never sent (see pd_frame): the chart keeps what it shows."""
    return KEEP if frame.empty else frame


def status_line(run: Run, final: bool = False) -> str:
    """One line: whose run, its state, step, speed while it runs, time; then what the state alone
    does not say (why it stopped, the server's length cap)."""
    frac, eta = elapsed_eta(run)
    paused = run.control.paused and not run.done.is_set()
    state = "paused" if paused else run.status
    moving = state == "running" and not final
    parts = [f"Step {run.step}" + (f"/{run.total}" if run.total else "")]
    if moving:
        parts.append(f"{run.images_per_sec:,.0f} images/s")
    parts.append(f"{run.elapsed:.0f}s elapsed" + (f", ETA {eta:.0f}s" if moving and eta is not None else ""))
    said = run.message if run.message and not run.message.startswith(("finished at step", "stopped at step")) else ""
    capped = (f"It reached the server's {run.cfg.seconds:.0f} s limit before step {run.total}."
              if run.status == "finished" and run.total and run.step < run.total else "")
    notes = " ".join(n for n in (said, capped, run.note) if n)
    status = f"**{run.name}** - {state}. {', '.join(parts)}." + (f" {notes}" if notes else "")
    bar = f"<progress value='{frac:.3f}' max='1' style='width:100%'></progress>"
    return status + "\n\n" + bar


COLLAPSE_BELOW = 8                      # fewer digits than this, once they are digits: a collapse warning
CRISP_FROM = 0.85                       # digits, not fog: share of pixels clearly ink or background (MNIST 0.92)


def quality_line(q: dict | None) -> str:
    if q is None:
        return f"Quality check every {QUALITY_EVERY} steps and at the end (FID on 500 samples)."
    head = f"Quick FID {q['fid_ratio']:.0f}x floor at step {q['step']}; "
    if q.get("crisp", 1.0) < CRISP_FROM:
        return head + ("no clear digits yet (still grey fog), so the histogram says little so far: "
                       "the digits it counts are the classifier's guesses")
    return (head + f"{q['modes']} of 10 digits present"
            + (" - **warning: digits are disappearing (mode collapse)**" if q["modes"] < COLLAPSE_BELOW else ""))


def class_histogram(q: dict | None):
    """Share of each digit; before any check, ten bars of 0. Never an empty frame: the browser
    fixes a chart's column types when it first draws it, and an empty first frame made the
    shares categories for good (bars floating at 0.036, 0.094, ...)."""
    shares = q["class_hist"] if q else [0.0] * 10
    return pd_frame([{"digit": str(i), "share": float(h)} for i, h in enumerate(shares)], HIST_COLUMNS)


def compare_update(runs: list[Run], sent: dict, final: bool):
    """The Compare chart: every run's G loss, a line per run. A browser chart keeps the series it
    saw when it was built (its colour domain) and ignores later ones, so each stream first hides
    the chart and then shows it with the data: shown again, it is built anew with every run."""
    if not final and not sent.get("compare hidden"):
        sent["compare hidden"] = True
        return Update(visible=False)
    frame = loss_frame(runs, keys=("g_loss",), series=lambda run, k: run.name)
    return Update(visible=True) if frame.empty else Update(value=frame, visible=True)


def train_outputs(run: Run, session: Session, final: bool = False, sent: dict | None = None) -> tuple:
    """The Train tab's outputs (in ``TRAIN_OUTPUTS`` order). ``sent`` remembers what the
    browser already shows: unchanged grids, plots and histograms are ``KEEP``."""
    sent = {} if sent is None else sent
    now = time.monotonic()

    def changed(name: str, version, min_gap: float = 0.0) -> bool:   # version: a count, or the object (the grid)
        same = name in sent and (sent[name] is version or type(version) is int and sent[name] == version)
        if final or not same and now - sent.get(name + " at", -1e9) >= min_gap:
            sent[name], sent[name + " at"] = version, now
            return True
        return False

    grid = run.grid if changed("grid", run.grid) else KEEP
    view = run.view if changed("view", run.view) else KEEP
    if changed("history", len(run.history), PLOT_GAP):                # curves: a redraw a second is plenty
        plots = tuple(_or_keep(loss_frame([run], keys=k)) for k in (("d_loss", "g_loss"), ("d_real", "d_fake"),
                                                                        ("grad_norm_d", "grad_norm_g")))
        compare = compare_update(list(session.runs.values()), sent, final)
    else:
        plots, compare = (KEEP,) * 3, KEEP
    q = run.quality[-1] if run.quality else None
    if changed("quality", len(run.quality)):
        quality, hist = quality_line(q), KEEP if q is None else class_histogram(q)
    else:
        quality, hist = KEEP, KEEP
    return (status_line(run, final), grid, view, *plots, quality, hist, compare)
