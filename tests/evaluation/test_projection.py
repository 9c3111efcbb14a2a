"""Tests of gan/evaluation/projection.py: the real digits' map and the live view of a run."""
import numpy as np
import pytest

from gan.engine.data import load_mnist
from gan.engine.loop import start_from, train
from gan.engine.trainer import Trainer
from gan.evaluation.projection import (
    coverage_bars,
    draw_live,
    live_view,
    pixel_to_map,
    real_projection,
    score_colours,
    spread,
)
from gan.inference.sampling import load_generator
from gan.models.gallery import case_config
from tests.helpers import ROOT, tiny_config


def test_the_map_puts_real_digits_of_a_class_together_and_apart_from_the_others():
    proj = real_projection()
    xy, labels = proj.real_xy, proj.real_labels
    assert xy.shape == (len(labels), 2) and np.mean((xy >= 0) & (xy <= 1)) > 0.95
    centres = np.stack([xy[labels == k].mean(0) for k in range(10)])
    within = np.mean([spread(xy[labels == k]) for k in range(10)])
    between = np.mean([np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1:]])
    assert between > within                                       # the map separates digits more than it mixes them
    placed, probs = proj.place(load_mnist("test").images[:50].numpy())
    assert np.allclose(placed, xy[:50], atol=1e-6) and probs.shape == (50, 10)   # the same digit, the same place


def test_a_click_maps_back_to_the_map_and_colours_run_from_red_to_green():
    assert pixel_to_map(0, 359, 360) == (0.0, 0.0) and pixel_to_map(359, 0, 360) == (1.0, 1.0)
    red, green = score_colours(np.array([0.0, 1.0]))
    assert red[0] > red[1] and green[1] > green[0]
    bars = coverage_bars([0.3] + [0.0] * 9, 300)
    assert bars.shape[1] == 300 and (bars[:, :30] != 255).any() and (bars[4:20, 40:] == 255).all()   # other bars empty above the tenth line


def test_a_live_view_places_a_runs_fakes_scores_them_and_counts_their_digits(fake_digits):
    t = Trainer(tiny_config("cgan", steps=2), fake_digits)
    v = live_view(t, n=40)
    assert v["xy"].shape == (40, 2) and v["scores"].shape == (40,) and ((0 <= v["scores"]) & (v["scores"] <= 1)).all()
    assert v["shares"].sum() == pytest.approx(1.0) and v["step"] == 0
    assert t.G.training and t.D.training                          # the view leaves the run's modes alone
    picture = draw_live(v, size=200)
    assert picture.shape[1] == 200 and picture.shape[2] == 3 and picture.shape[0] > 200


def test_a_collapsing_run_shrinks_to_one_island_on_the_map():
    """The failure gallery's mode collapse (from the shipped vanilla generator): its fakes start
    spread over the real digits and end in one cluster, nearly all one digit."""
    train_data = load_mnist("train")
    cfg = case_config("mode-collapse", fix=False)
    trainer = Trainer(cfg, train_data)
    start_from(trainer, load_generator(ROOT / "weights" / "vanilla.safetensors"))
    before = live_view(trainer)
    train(trainer=trainer)
    after = live_view(trainer)
    assert (before["shares"] > 0.03).sum() >= 8 and after["shares"].max() > 0.8
    assert spread(after["xy"]) < 0.5 * spread(before["xy"])


def test_the_bars_dashed_line_marks_a_tenth_across_the_chart():
    bars = coverage_bars([0.1] + [0.0] * 9, 300, height=46)
    top, bottom = 4, 46 - 14
    even = int(bottom - (0.1 / 0.3) * (bottom - top))                # Pillow draws at the whole pixel below
    grey = (np.abs(bars[even].astype(int) - 90).sum(-1) < 10)
    assert grey[40:296].sum() > 100                              # dashes across the empty bars
    assert not (np.abs(bars[even - 3].astype(int) - 90).sum(-1) < 10)[40:].any()
    assert (bars[even + 1:bottom, 8:30] != 255).any(-1).all()    # digit 0's bar reaches the line (30 % fills it)
    assert (bars[top:even - 1, 8:30] == 255).all()
