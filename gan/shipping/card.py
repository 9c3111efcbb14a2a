"""weights/'s model card: metrics.json (one entry per shipped file) and the table of weights/README.md
that is regenerated from it. ``install`` and ``eval --write-metrics`` write here."""
from __future__ import annotations

import json
from pathlib import Path

from gan.engine.checkpoint import atomic_write_bytes
from gan.models.registry import get_preset, goal_shortfalls

CARD_START, CARD_END = "<!-- metrics-table:start -->", "<!-- metrics-table:end -->"
METRIC_KEYS = ("fid", "fid_ratio", "floor_fid", "classifier_score", "real_classifier_score", "modes", "kl_uniform",
               "precision", "recall", "class_hist", "cgan_accuracy", "digit", "digit_share")


def metrics_entry(res: dict, meta: dict) -> dict:
    """metrics.json's entry for a generator file: its scores and how it was trained (its metadata)."""
    recipe = meta.get("recipe") or {}
    entry = {k: res[k] for k in METRIC_KEYS if k in res}
    return entry | {"device": recipe.get("device"), "train_seconds": recipe.get("train_seconds"),
                    "epochs": recipe.get("epochs"), "steps": int(meta.get("step", 0)),
                    "train_command": recipe.get("command"), "ema": bool(meta.get("ema", False))} \
        | ({"batchnorm": meta["batchnorm"]} if "batchnorm" in meta else {})


def write_metrics(weights_dir: Path, name: str, entry: dict) -> None:
    path = weights_dir / "metrics.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = entry
    atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode())
    card = weights_dir / "README.md"
    if card.is_file():
        atomic_write_bytes(card, with_table(card.read_text(), data).encode())


def with_table(card: str, data: dict) -> str:
    """The card with its metrics table (between the markers) regenerated from ``data``."""
    return between_markers(card, CARD_START, CARD_END, metrics_table(data))


def between_markers(text: str, start: str, end: str, body: str) -> str:
    """``text`` with what lies between its ``start`` and ``end`` markers replaced by ``body``."""
    if start not in text or end not in text:
        raise ValueError(f"the model card has no {start} ... {end} markers for the table")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + "\n" + body + end + tail


def metrics_table(data: dict) -> str:
    lines = ["| preset | trained on | time | epochs | G steps | FID | FID / floor | classifier score | modes "
             "| precision / recall | conditional | goal | met |", "|---" * 13 + "|"]
    for name, m in data.items():
        goal = get_preset(name).goal
        short = goal_shortfalls(goal, m)
        cond = (f"acc {m['cgan_accuracy']:.1%}" if "cgan_accuracy" in m else
                f"digit {m['digit']}: {m['digit_share']:.1%}" if "digit_share" in m else "")
        goal_text = ", ".join(f"{k} {'<=' if k == 'fid_ratio' else '>='} {v:g}" for k, v in goal.items())
        lines.append(f"| `{name}` | {m.get('device')} | {m.get('train_seconds')} s | {m.get('epochs')} | {m['steps']} "
                     f"| {m['fid']:.3f} | **{m['fid_ratio']:.1f}x** | {m['classifier_score']:.2f} | {m['modes']} "
                     f"| {m['precision']:.2f} / {m['recall']:.2f} | {cond} | {goal_text} "
                     f"| {'yes' if not short else 'no: ' + ', '.join(short)} |")
    return "\n".join(lines) + "\n"
