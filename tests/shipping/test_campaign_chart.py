"""The campaign's curves (gan/shipping/campaign_chart.py), read back from the picture's pixels."""
import math

import numpy as np
from PIL import Image, ImageColor

from gan.shipping.campaign_chart import BOTTOM, COLOURS, LEFT, RIGHT, TOP, H, W, draw_curves


def _chart(tmp_path):
    state = {"cgan": {"history": [{"cpu_hours": 0.0, "fid_ratio": 100.0}, {"cpu_hours": 2.0, "fid_ratio": 10.0}]},
             "dcgan": {"history": [{"cpu_hours": 1.0, "fid_ratio": 30.0}]},
             "not-a-target": {"history": [{"cpu_hours": 9.0, "fid_ratio": 5.0}]}}
    draw_curves(state, {"cgan": 2.0, "dcgan": None}, tmp_path / "c.png")
    return np.asarray(Image.open(tmp_path / "c.png").convert("RGB")).astype(int)


def _is(img, x, y, colour, r=2):
    want = np.array(ImageColor.getrgb(colour))
    patch = img[round(y) - r:round(y) + r + 1, round(x) - r:round(x) + r + 1]
    return bool((np.abs(patch - want).sum(-1) < 30).any())


def test_each_point_sits_at_its_hours_and_log_ratio_in_its_targets_colour(tmp_path):
    img = _chart(tmp_path)
    assert img.shape == (H, W, 3)
    lo, hi = 0, 2                                      # 2x .. 100x: decades 1 .. 100
    def xy(h, v):
        return LEFT + (W - LEFT - RIGHT) * h / 2.0, H - BOTTOM - (H - TOP - BOTTOM) * (math.log10(v) - lo) / (hi - lo)
    cgan, dcgan = COLOURS[0], COLOURS[1]               # sorted by name
    assert _is(img, *xy(0.0, 100.0), cgan) and _is(img, *xy(2.0, 10.0), cgan) and _is(img, *xy(1.0, 30.0), dcgan)
    assert _is(img, *xy(1.0, 10 ** 1.5), cgan)         # the line between cgan's two checks
    assert not _is(img, *xy(1.0, 30.0), cgan)
    goal_y = xy(0, 2.0)[1]                             # cgan's goal: a dotted line across the plot
    assert sum(_is(img, x + 1, goal_y, cgan, r=1) for x in range(LEFT, W - RIGHT, 8)) > 60


def test_the_hours_axis_is_labelled_at_its_quarters_under_the_plot(tmp_path):
    img = _chart(tmp_path)
    band = img[H - BOTTOM + 4:H - BOTTOM + 16]         # the labels' row under the plot
    ink = (band.sum(-1) < 300).any(0)                  # columns with dark text
    for i in range(5):
        x = LEFT + (W - LEFT - RIGHT) * i / 4
        assert ink[max(0, round(x) - 12):round(x) + 12].any(), f"no label near the {i}/4 mark"


def test_a_shared_goal_is_one_grey_dotted_line_not_a_curves_own(tmp_path):
    """The trials' charts: one goal for every trial of a preset, drawn in grey, not in a trial's colour."""
    from gan.shipping.campaign_chart import GOAL_GREY
    state = {"a": {"history": [{"cpu_hours": 0.0, "fid_ratio": 100.0}, {"cpu_hours": 1.0, "fid_ratio": 10.0}]}}
    draw_curves(state, {"a": None}, tmp_path / "c.png", shared_goal=2.0)
    img = np.asarray(Image.open(tmp_path / "c.png").convert("RGB")).astype(int)
    y = H - BOTTOM - (H - TOP - BOTTOM) * math.log10(2.0) / 2          # 1x .. 100x
    assert sum(_is(img, x + 1, y, GOAL_GREY, r=1) for x in range(LEFT, W - RIGHT, 8)) > 60
    assert not any(_is(img, x + 1, y, COLOURS[0], r=1) for x in range(LEFT + 200, W - RIGHT, 8))
