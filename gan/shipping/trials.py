"""Recipe trials: a preset's faithful recipe and named changes of it, each trained from scratch for a
reduced length on this CPU and scored on a schedule, so the fastest recipe to a goal is found in
CPU-hours before the campaign spends its days on one.

A trial appends one JSON line per check to a log (``weights/trials.jsonl``): its name, preset, the
changes from the faithful recipe, the generator step, the CPU hours of training so far (scoring not
counted), FID / floor, modes, the class histogram and the classifier score. An interrupted trial
keeps its checks; given a checkpoint file it also saves its state at every check, and the same
trial run again (with the same or a larger ``steps``) goes on from its last check, exactly as one
straight run would. ``trials_table`` turns the log into the card's table; ``draw_trials`` into one
FID-vs-CPU-hours chart per preset.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

from gan.engine.checkpoint import atomic_write_bytes
from gan.engine.config import TrainConfig
from gan.engine.loop import recipe_changes, resume_trainer, train
from gan.engine.trainer import Trainer
from gan.evaluation.evaluate import QualityHook, evaluate
from gan.models.registry import get_preset, goal_shortfalls
from gan.shipping.campaign_chart import draw_curves

TRIALS_START, TRIALS_END = "<!-- trials-table:start -->", "<!-- trials-table:end -->"


def trial_config(preset: str, changes: dict, steps: int, seed: int = 0, check_every: int = 100) -> TrainConfig:
    """The faithful recipe of ``preset`` with ``changes``, at the shipped width, fp32 on this CPU (reporting
    progress on every multiple of ``check_every``: the checks ride on the reports)."""
    return TrainConfig.for_preset(preset, **(changes | {
        "steps": steps, "seed": seed, "device": "cpu", "amp": False, "compile": False,
        "log_every": math.gcd(check_every, 100), "sample_every": 10**9}))


def start_trial(cfg: TrainConfig, data, checkpoint: Path | None, name: str) -> tuple[Trainer, float]:
    """A new Trainer, or the one ``checkpoint`` holds (with the CPU hours it had trained) when the
    trial ran before; a checkpoint of another recipe under the same name is refused."""
    if checkpoint is None or not checkpoint.is_file():
        return Trainer(cfg, data), 0.0
    changed = recipe_changes(checkpoint, cfg)
    if changed:
        raise ValueError(f"trial {name!r} ran before with another recipe ({', '.join(changed)} differ; its checkpoint: "
                         f"{checkpoint}); give this one another --name")
    return resume_trainer(cfg, checkpoint, data), trial_cpu_hours(checkpoint)


def _hours_file(checkpoint: Path) -> Path:
    return checkpoint.with_name("cpu_hours.json")


def trial_cpu_hours(checkpoint: Path) -> float:
    """The CPU hours of training a trial's checkpoint holds (0 when not recorded)."""
    hours = _hours_file(checkpoint)
    return json.loads(hours.read_text())["cpu_hours"] if hours.is_file() else 0.0


def run_trial(name: str, preset: str, changes: dict, steps: int, check_every: int, data, log_path: Path,
              samples: int = 5000, seed: int = 0, score: Callable | None = None, say: Callable[[str], None] = print,
              abort: Callable[[], bool] | None = None, checkpoint: Path | None = None) -> list[dict]:
    """Train one trial, scoring every ``check_every`` steps and at the end; returns the rows it adds.
    With ``checkpoint``, it saves there at every check and goes on from there when run again."""
    trainer, hours_before = start_trial(trial_config(preset, changes, steps, seed, check_every), data, checkpoint, name)
    if trainer.step >= steps:
        say(f"{name} ({preset}) is already at step {trainer.step}; ask for more --steps to go on")
        return []
    if trainer.step:
        say(f"{name} ({preset}): going on from step {trainer.step} ({hours_before:.3f} CPU h)")
    score = score or (lambda model: evaluate(model, n=samples, pr=False))
    scoring, start, rows = [0.0], time.process_time() - hours_before * 3600, []

    def timed(model):
        t0 = time.process_time()
        try:
            return score(model)
        finally:
            scoring[0] += time.process_time() - t0

    def heard(m: dict) -> None:
        row = {"trial": name, "preset": preset, "changes": changes, "seed": seed, "samples": samples,
               "step": m["step"], "cpu_hours": round((time.process_time() - start - scoring[0]) / 3600, 6),
               "fid_ratio": round(m["fid_ratio"], 2), "modes": m["modes"],
               "class_hist": [round(float(x), 4) for x in m["class_hist"]]}
        row |= {k: round(m[k], 3) for k in ("classifier_score", "digit_share") if k in m}
        rows.append(row)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            trainer.save(checkpoint)
            atomic_write_bytes(_hours_file(checkpoint), json.dumps({"cpu_hours": row["cpu_hours"]}).encode())
        say(f"{name} ({preset}) step {row['step']}: FID {row['fid_ratio']:.1f}x floor, {row['modes']} modes, "
            f"{row['cpu_hours']:.3f} CPU h")

    hook = QualityHook(trainer, every_steps=check_every, score=timed, on_check=heard)
    result = train(trainer=trainer, progress=hook, abort=abort)
    if result.status == "finished":
        hook.final()
    return rows


def read_trials(log_path: Path) -> dict[tuple[str, str], list[dict]]:
    """The log's checks, grouped by (preset, trial) in the order the trials first appear."""
    out: dict[tuple[str, str], list[dict]] = {}
    if log_path.is_file():
        for line in log_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                out.setdefault((row["preset"], row["trial"]), []).append(row)
    return out


def _changes_text(changes: dict) -> str:
    return ", ".join(f"{k} {json.dumps(v) if isinstance(v, (dict, list)) else v}" for k, v in changes.items()) or "none (faithful)"


def _step_text(step: int) -> str:
    """A check's step in the curve column: 300, 1k, 1.2k, 12k, 12.5k."""
    return str(step) if step < 1000 else f"{step / 1000:g}k"


def trials_table(trials: dict[tuple[str, str], list[dict]]) -> str:
    """Markdown: one line per trial with its curve (FID / floor at each check), best, modes and verdict."""
    lines = ["| preset | trial | changes from the faithful recipe | steps | CPU h | FID / floor at each check (step: value) "
             "| best | modes (last) | rarest digit (last) | goal |", "|---" * 10 + "|"]
    for (preset, name), rows in trials.items():
        last, best = rows[-1], min(rows, key=lambda r: r["fid_ratio"])
        curve = ", ".join(f"{_step_text(r['step'])}: {r['fid_ratio']:.0f}" for r in rows)
        rare = min(range(10), key=lambda d: last["class_hist"][d])
        short = goal_shortfalls(get_preset(preset).goal, last)
        lines.append(f"| `{preset}` | {name} | {_changes_text(last['changes'])} | {last['step']} | {last['cpu_hours']:.2f} "
                     f"| {curve} | **{best['fid_ratio']:.1f}x** (step {best['step']}) | {last['modes']} "
                     f"| {rare}: {last['class_hist'][rare]:.1%} | {'met' if not short else 'short'} |")
    return "\n".join(lines) + "\n"


def draw_trials(trials: dict[tuple[str, str], list[dict]], folder: Path) -> list[Path]:
    """One chart per preset: every trial's FID / floor against CPU hours, the preset's goal dotted."""
    pngs = []
    for preset in dict.fromkeys(p for p, _ in trials):
        state = {name: {"history": rows} for (p, name), rows in trials.items() if p == preset}
        goal = get_preset(preset).goal.get("fid_ratio")
        png = folder / f"{preset}.png"
        draw_curves(state, dict.fromkeys(state), png, shared_goal=goal)
        pngs.append(png)
    return pngs
