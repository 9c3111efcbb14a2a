"""The campaign's FID-vs-CPU-hours curves as a PNG (Pillow only): log-scaled FID / floor, one
line per target, its goal as a dotted line of the same colour."""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
GOAL_GREY = "#555555"
W, H, LEFT, RIGHT, TOP, BOTTOM = 760, 420, 60, 170, 20, 40


def draw_curves(state: dict, goals: dict[str, float | None], png: Path, shared_goal: float | None = None) -> None:
    """One line per entry of ``state`` named in ``goals``, with its own goal dotted in its colour;
    ``shared_goal``: one goal for every line (trials of one preset), dotted grey and named last."""
    series = {name: [(h["cpu_hours"], h["fid_ratio"]) for h in e.get("history", []) if h.get("fid_ratio")]
              for name, e in state.items() if name in goals}
    values = [v for pts in series.values() for _, v in pts] + [g for g in [*goals.values(), shared_goal] if g]
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    x_max = max([h for pts in series.values() for h, _ in pts] + [0.1])
    lo, hi = math.log10(min(values or [1.0])), math.log10(max(values or [10.0]))
    lo, hi = math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)

    def xy(h: float, v: float) -> tuple[float, float]:
        return (LEFT + (W - LEFT - RIGHT) * h / x_max,
                H - BOTTOM - (H - TOP - BOTTOM) * (math.log10(v) - lo) / (hi - lo))

    d.rectangle([LEFT, TOP, W - RIGHT, H - BOTTOM], outline="black")
    for p in range(lo, hi + 1):
        y = xy(0, 10 ** p)[1]
        d.line([LEFT, y, W - RIGHT, y], fill="#dddddd")
        d.text((5, y - 6), f"{10 ** p:g}x", fill="black")
    for i in range(5):
        h = x_max * i / 4
        d.text((xy(h, 10 ** lo)[0] - 10, H - BOTTOM + 5), f"{h:.2g}", fill="black")
    d.text((LEFT, H - 16), "CPU hours (this 2-core machine)", fill="black")
    d.text((LEFT + 5, TOP + 3), "FID / real-data floor (log)", fill="black")
    for i, (name, pts) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        if len(pts) > 1:
            d.line([xy(*p) for p in pts], fill=colour, width=2)
        for p in pts:
            x, y = xy(*p)
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        goal = goals.get(name)
        if goal:
            y = xy(0, goal)[1]
            for x in range(LEFT, W - RIGHT, 8):
                d.line([x, y, x + 3, y], fill=colour)
        d.text((W - RIGHT + 8, TOP + 14 * i), f"{name}" + (f" (goal {goal:g}x)" if goal else ""), fill=colour)
    if shared_goal:
        y = xy(0, shared_goal)[1]
        for x in range(LEFT, W - RIGHT, 8):
            d.line([x, y, x + 3, y], fill=GOAL_GREY)
        d.text((W - RIGHT + 8, TOP + 14 * len(series)), f"- - goal {shared_goal:g}x", fill=GOAL_GREY)
    png.parent.mkdir(parents=True, exist_ok=True)
    img.save(png)
