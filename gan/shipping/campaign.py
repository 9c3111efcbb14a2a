"""The weights campaign: this CPU trains every shipped generator that is short of its goal.

One ``Campaign`` owns a folder outside the work tree (``<dir>/<target>/checkpoint.safetensors``
and ``<dir>/state.json``). ``run()`` gives the targets short of their goal turns of
``slice_seconds`` of CPU time each in a fair rotation (the visibly broken ones first on a tie),
resumes each from its checkpoint, scores it after every turn with the evaluator and keeps the best
file. A run that stops improving (``stalled``) gets no more turns until its recipe changes. A
target whose best beats the shipped file (``gan.shipping.install.better``) is installed into weights/
with its grid, probe D and metrics entry. Killed at any moment, it loses at most one turn's
work since the last checkpoint; started again, it goes on where it stopped (and finishes an
install it was in the middle of).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gan.engine.checkpoint import atomic_write_bytes
from gan.engine.config import TrainConfig
from gan.engine.loop import recipe_changes, recipe_of, resume_trainer, train
from gan.engine.trainer import Trainer
from gan.evaluation.evaluate import evaluate
from gan.inference.sampling import load_generator
from gan.models.registry import get_preset, goal_shortfalls
from gan.shipping.batchnorm import keep_if_better
from gan.shipping.card import metrics_entry
from gan.shipping.install import better, install

WALL_CAP_SECONDS = 10**6        # a turn's wall-clock bound; its real length is CPU time (``slice_seconds``)

# the order of turns on a tie: the visibly broken first (a grid of 3s, missing digits, smears)
PRIORITY = ("cs231n", "keras-dcgan", "wgan-gp", "dcgan", "vanilla", "cgan", "one-digit")


@dataclass(frozen=True)
class Target:
    name: str                              # folder and state key; the weights/ file name when shipped
    preset: str
    overrides: dict = field(default_factory=dict)   # TrainConfig fields on top of the preset's recipe
    ship: bool = True                      # installed into weights/ when better; False: measured only

    def config(self, out_dir: Path, seconds: float | None, steps: int | None = None) -> TrainConfig:
        """The run's config for one turn: ``seconds`` of training, or up to generator step ``steps``."""
        return TrainConfig.for_preset(self.preset, **(self.overrides | {
            "seconds": seconds, "steps": steps, "out_dir": str(out_dir), "device": "cpu", "compile": False}))

    @property
    def goal(self) -> dict:
        return get_preset(self.preset).goal

    def train_command(self, steps: int) -> str:
        """The one ``gan train`` run that this target's resumed turns add up to."""
        flags = []
        for k, v in self.overrides.items():
            if k in ("checkpoint_every", "log_every"):
                continue
            if isinstance(v, bool):
                flags.append(f"--{'' if v else 'no-'}{k.replace('_', '-')}")
            elif isinstance(v, dict):
                flags.append(f"--{k} '{json.dumps(v)}'")
            else:
                text = ",".join(str(x) for x in v) if isinstance(v, (tuple, list)) else str(v)
                flags.append(f"--{k.replace('_', '-')} {text}")
        return " ".join(["python -m gan train --preset", self.preset, *flags, f"--steps {steps}"])


def default_targets() -> list[Target]:
    """Every preset with its weights recipe, plus the single-digit goal's other digits (measured, not shipped)."""
    out = [Target(p, p, {"amp": False, "checkpoint_every": 1000, "log_every": 100} | get_preset(p).weights_recipe)
           for p in PRIORITY]
    one = out[-1]
    out.append(Target("one-digit-3", "one-digit", one.overrides | {"digits": (3,)}, ship=False))
    return out


def eta_hours(history: list[dict], goal_ratio: float | None, points: int = 5) -> float | None:
    """CPU hours still needed to reach FID / floor ``goal_ratio``, from a straight-line fit of
    log(FID / floor) against CPU hours over the last ``points`` checks; None when the trend is
    flat or rising, or there is too little to fit."""
    pts = [(h["cpu_hours"], math.log(h["fid_ratio"])) for h in history[-points:] if h.get("fid_ratio")]
    if goal_ratio is None or len(pts) < 3:
        return None
    n = len(pts)
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx <= 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
    if slope >= 0:
        return None
    now = my + slope * (pts[-1][0] - mx)
    return max(0.0, (math.log(goal_ratio) - now) / slope)


def _score(row: dict) -> float:
    """Lower is better: FID / floor, or for single-digit models minus the share of the digit."""
    return -row["digit_share"] if "digit_share" in row else row["fid_ratio"]


def current_run(history: list[dict], restarts: list[dict] = ()) -> list[dict]:
    """The checks since the target's run last started again (its step went down, or a restart or
    take-over was recorded at that many CPU hours)."""
    start = max((i for i in range(1, len(history)) if history[i]["step"] < history[i - 1]["step"]), default=0)
    for r in restarts:
        start = max(start, next((i for i, h in enumerate(history) if h["cpu_hours"] > r["cpu_hours"]), len(history)))
    return history[start:]


def stalled(history: list[dict], checks: int = 4, cpu_hours: float = 0.5, restarts: list[dict] = ()) -> dict | None:
    """The current run's best check when the run has gone ``checks`` checks and ``cpu_hours`` CPU
    hours past it without beating it (a run past its best: vanilla drifted from 10x floor to 27x over
    150,000 steps), else None. More turns of that recipe only burn CPU; it needs a new recipe."""
    run = current_run(history, restarts)
    if checks <= 0 or not run:
        return None
    i = min(range(len(run)), key=lambda k: (_score(run[k]), k))
    after = run[i + 1:]
    if len(after) >= checks and after[-1]["cpu_hours"] - run[i]["cpu_hours"] >= cpu_hours:
        return run[i]
    return None


class Campaign:
    def __init__(self, root: str | Path, weights_dir: str | Path, data, targets: list[Target] | None = None,
                 slice_seconds: float = 900.0, slice_steps: int | None = None, evaluate: Callable | None = None,
                 install: bool = True, log: Callable[[str], None] = print, probe_steps: int = 400,
                 batchnorm: bool = True, patience: tuple[int, float] = (4, 0.5)):
        self.root, self.weights = Path(root).expanduser(), Path(weights_dir)
        self.data, self.targets = data, targets if targets is not None else default_targets()
        self.slice_seconds, self.slice_steps = slice_seconds, slice_steps     # a turn's length: seconds, or steps if set
        self.install, self.log, self.probe_steps = install, log, probe_steps
        self.batchnorm = batchnorm                                             # try re-estimated statistics on a new best
        self.patience = patience                   # (checks, CPU hours) past a run's best before it counts as stalled
        self.evaluate = evaluate or _evaluate_10k
        self.root.mkdir(parents=True, exist_ok=True)
        self.state = self._read_state()

    # ------------------------------------------------------------------ state
    def _read_state(self) -> dict:
        path = self.root / "state.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def _write_state(self) -> None:
        atomic_write_bytes(self.root / "state.json", (json.dumps(self.state, indent=1) + "\n").encode())

    def entry(self, t: Target) -> dict:
        return self.state.setdefault(t.name, {"cpu_seconds": 0.0, "step": 0, "turns": 0, "history": [], "best": None})

    def shipped(self, t: Target) -> dict | None:
        path = self.weights / "metrics.json"
        return json.loads(path.read_text()).get(t.name) if t.ship and path.is_file() else None

    def shortfalls(self, t: Target) -> list[str]:
        """What the best file so far (ours or the shipped one) misses of the goal; [] = at goal."""
        best, shipped = self.entry(t)["best"], self.shipped(t)
        m = best if best and (shipped is None or better(best, shipped)) else shipped
        return goal_shortfalls(t.goal, m) if m else ["not measured"]

    def recipe_key(self, t: Target) -> str:
        """``t``'s weights recipe as text, to tell whether it changed since the last check."""
        return json.dumps(recipe_of(t.config(self.root / t.name, 1.0)), sort_keys=True, default=str)

    def stalled(self, t: Target) -> dict | None:
        """The best check of ``t``'s current run if the run has stopped improving (see ``stalled``)
        and its recipe is still the one that stalled (a new recipe starts again, so it gets turns)."""
        e = self.entry(t)
        if e.get("recipe") not in (None, self.recipe_key(t)):
            return None
        return stalled(e["history"], *self.patience, restarts=e.get("restarts", []))

    def pick(self) -> Target | None:
        """The target short of its goal and not stalled with the fewest turns so far (priority order on a tie)."""
        short = [t for t in self.targets if self.shortfalls(t) and not self.stalled(t)]
        return min(short, key=lambda t: self.entry(t)["turns"]) if short else None

    # --------------------------------------------------------------- training
    def turn(self, t: Target, abort: Callable[[], bool] | None = None) -> dict:
        """One turn: resume (or start) ``t``, train ``slice_seconds`` of CPU time (this process's, all
        its threads: at idle priority a wall-clock slice could be nearly all waiting, and its check
        then cost more than the training it scored), save, score; returns the check."""
        e, folder = self.entry(t), self.root / t.name
        ckpt = folder / "checkpoint.safetensors"
        if ckpt.is_file():
            self._restart_if_recipe_changed(t, ckpt, t.config(folder, self.slice_seconds))
        steps = e["step"] + self.slice_steps if self.slice_steps else None
        cfg = t.config(folder, None if steps else WALL_CAP_SECONDS, steps)
        trainer = resume_trainer(cfg, ckpt, self.data) if ckpt.is_file() else Trainer(cfg, self.data)
        cpu0 = time.process_time()

        def stop() -> bool:       # a turn is slice_seconds of CPU time: a starved turn still trains its share
            return bool(abort and abort()) or (not steps and time.process_time() - cpu0 >= self.slice_seconds)
        result = train(trainer=trainer, abort=stop)
        e["cpu_seconds"] += time.process_time() - cpu0
        e["step"], e["turns"] = trainer.step, e["turns"] + 1
        if result.status in ("diverged", "out of memory"):
            self.log(f"{t.name}: {result.message}; the turn's steps are dropped, the checkpoint kept")
            self._write_state()
            return {"status": result.status}
        check = self.check(t, trainer)
        self._write_state()
        return check

    def _restart_if_recipe_changed(self, t: Target, ckpt: Path, cfg: TrainConfig) -> None:
        """A target whose weights recipe changed since its checkpoint was written starts again from
        scratch (a resume would go on training the old recipe under the new one's command); the old
        checkpoint is kept beside it, the target's best file and history stay."""
        changed = recipe_changes(ckpt, cfg)
        if not changed:
            return
        e = self.entry(t)
        os.replace(ckpt, ckpt.with_name(f"checkpoint-before-step-{e['step']}.safetensors"))
        e.setdefault("restarts", []).append({"step": e["step"], "cpu_hours": round(e["cpu_seconds"] / 3600, 4),
                                             "changed": changed})
        self.log(f"{t.name}: its weights recipe changed ({', '.join(changed)}): starting again from scratch; "
                 f"the checkpoint of step {e['step']} is kept beside it")
        e["step"] = 0

    def take_over(self, t: Target, checkpoint: Path, cpu_hours: float = 0.0) -> dict:
        """Make a run trained elsewhere with ``t``'s weights recipe (a recipe trial's checkpoint) ``t``'s
        run: its own checkpoint is kept beside it, the run goes on from the given one's step (a straight
        run of the recipe, as a resume is), and it is checked at once. Another recipe is refused."""
        folder, e = self.root / t.name, self.entry(t)
        cfg = t.config(folder, 1.0)
        changed = recipe_changes(checkpoint, cfg)
        if changed:
            raise ValueError(f"{checkpoint} trains another recipe than {t.name}'s weights recipe "
                             f"({', '.join(changed)} differ)")
        folder.mkdir(parents=True, exist_ok=True)
        ckpt = folder / "checkpoint.safetensors"
        if ckpt.is_file():
            os.replace(ckpt, ckpt.with_name(f"checkpoint-before-step-{e['step']}.safetensors"))
        shutil.copy(checkpoint, ckpt)
        trainer = resume_trainer(cfg, ckpt, self.data)
        e.setdefault("restarts", []).append({"step": e["step"], "cpu_hours": round(e["cpu_seconds"] / 3600, 4),
                                             "taken_over": str(checkpoint), "at_step": trainer.step})
        e["step"], e["cpu_seconds"] = trainer.step, e["cpu_seconds"] + cpu_hours * 3600
        self.log(f"{t.name}: going on from {checkpoint} (step {trainer.step}); its own checkpoint is kept beside it")
        check = self.check(t, trainer)
        self._write_state()
        return check

    def check(self, t: Target, trainer: Trainer) -> dict:
        e, folder = self.entry(t), self.root / t.name
        candidate = folder / "candidate.safetensors"
        recipe = {"command": t.train_command(trainer.step), "device": "cpu (campaign, idle priority)",
                  "train_seconds": round(trainer.train_seconds, 1), "cpu_hours": round(e["cpu_seconds"] / 3600, 3),
                  "epochs": round(trainer.epoch, 2), "status": "campaign"}
        trainer.export_generator(candidate, extra={"recipe": recipe}, half=True)
        metrics = self.evaluate(candidate)
        row = {"step": trainer.step, "cpu_hours": round(e["cpu_seconds"] / 3600, 4), "fid_ratio": metrics["fid_ratio"],
               "modes": metrics["modes"]} | {k: metrics[k] for k in ("digit_share", "cgan_accuracy",
                                                                     "classifier_score") if k in metrics}
        e["history"].append(row)
        e["recipe"] = self.recipe_key(t)
        short = goal_shortfalls(t.goal, metrics)
        words = f"{t.name} step {trainer.step}: FID {metrics['fid_ratio']:.1f}x floor, {metrics['modes']} modes"
        if e["best"] is None or better(metrics, e["best"]):
            metrics = self._with_reestimated_batchnorm(candidate, metrics)
            e["best"] = metrics
            os.replace(candidate, folder / "best.safetensors")
            self._write_state()                   # before installing: a stop mid-install is finished at the next start
            words += " - best so far"
            shipped = self.shipped(t)
            if t.ship and self.install and (shipped is None or better(metrics, shipped)):
                install(self.weights, t.name, folder / "best.safetensors", metrics, self.probe_steps, self.data)
                e.setdefault("adopted", []).append(row)
                words += f" - installed into {self.weights}"
        self.log(words + ("; goal met" if not short else f"; short: {', '.join(short)}"))
        return row | {"short": short}

    def _with_reestimated_batchnorm(self, candidate: Path, metrics: dict) -> dict:
        """The candidate with re-estimated BatchNorm statistics (``gan/shipping/batchnorm.py``) in its
        place when the evaluator scores that better; its metrics, whichever is kept."""
        if not self.batchnorm:
            return metrics
        alt_metrics, kept = keep_if_better(candidate, metrics, self.evaluate)
        if not kept:
            return metrics
        self.log(f"re-estimated BatchNorm statistics: FID {metrics['fid_ratio']:.2f}x -> {alt_metrics['fid_ratio']:.2f}x floor, kept")
        return alt_metrics

    def install_pending(self) -> list[str]:
        """Install every best file that beats the shipped one but is not in weights/ (a campaign
        stopped while it installed left the job half done); returns their names."""
        done = []
        for t in self.targets:
            e, best_file = self.entry(t), self.root / t.name / "best.safetensors"
            if t.ship and self.install and e["best"] and best_file.is_file() and better(e["best"], self.shipped(t)):
                install(self.weights, t.name, best_file, e["best"], self.probe_steps, self.data)
                e.setdefault("adopted", []).append({"step": e["best"].get("steps"), "fid_ratio": e["best"]["fid_ratio"],
                                                    "installed": "at the next start"})
                self._write_state()
                self.log(f"{t.name}: its best file ({e['best']['fid_ratio']:.1f}x floor) beats the shipped one: "
                         f"installed into {self.weights}")
                done.append(t.name)
        return done

    def run(self, abort: Callable[[], bool] | None = None, max_turns: int | None = None) -> int:
        """Turns until every target is at its goal, ``abort()`` says stop, or ``max_turns``; returns the turns
        taken. It first installs any better file a stopped campaign had not finished installing."""
        self.install_pending()
        turns = 0
        while (max_turns is None or turns < max_turns) and not (abort and abort()):
            t = self.pick()
            if t is None:
                stuck = [t.name for t in self.targets if self.shortfalls(t)]
                self.log(f"stopping: {', '.join(stuck)} stalled short of the goal (change their weights recipes)"
                         if stuck else "every target is at its goal")
                break
            length = f"{self.slice_steps} steps" if self.slice_steps else f"{self.slice_seconds:.0f} CPU s"
            self.log(f"turn {turns + 1}: {t.name} for {length}")
            self.turn(t, abort)
            turns += 1
        return turns

    # ----------------------------------------------------------------- status
    def status_rows(self) -> list[dict]:
        rows = []
        for t in self.targets:
            e, shipped = self.entry(t), self.shipped(t)
            best = e["best"] or {}
            rows.append({"target": t.name, "steps": e["step"], "cpu_hours": round(e["cpu_seconds"] / 3600, 2),
                         "best_fid_ratio": best.get("fid_ratio"), "modes": best.get("modes"),
                         "shipped_fid_ratio": (shipped or {}).get("fid_ratio"),
                         "goal": ", ".join(f"{k} {v:g}" for k, v in t.goal.items()),
                         "short": self.shortfalls(t),
                         "eta_cpu_hours": eta_hours(current_run(e["history"], e.get("restarts", [])),
                                                    t.goal.get("fid_ratio")),
                         "stalled": self.stalled(t)})
        return rows


def _evaluate_10k(path: Path) -> dict:
    """The card's metrics (10,000 samples, seed 12345) of a generator file, as metrics.json keeps them."""
    model = load_generator(path)
    return metrics_entry(evaluate(model, n=10000), model.meta)


def _outlook(row: dict) -> str:
    best = row.get("stalled")
    if best:
        score = f"{best['digit_share']:.1%} of its digit" if "digit_share" in best else f"{best['fid_ratio']:.1f}x"
        return (f"STALLED: no better than {score} (step {best['step']}) since; "
                "skipped until its weights recipe changes")
    eta = row["eta_cpu_hours"]
    return f"ETA {eta:.1f} CPU h" if eta is not None else "ETA unknown (no falling trend yet)"


def format_status(rows: list[dict]) -> str:
    head = f"{'target':13s} {'steps':>8s} {'CPU h':>6s} {'best FID/floor':>14s} {'modes':>5s} {'shipped':>8s}  goal / ETA"
    lines = [head]
    for r in rows:
        fid = f"{r['best_fid_ratio']:.1f}x" if r["best_fid_ratio"] is not None else "-"
        ship = f"{r['shipped_fid_ratio']:.1f}x" if r["shipped_fid_ratio"] is not None else "-"
        eta = ("at goal" if not r["short"] else f"short ({'; '.join(r['short'])}), " + _outlook(r))
        lines.append(f"{r['target']:13s} {r['steps']:>8d} {r['cpu_hours']:>6.2f} {fid:>14s} {str(r['modes'] or '-'):>5s} "
                     f"{ship:>8s}  {r['goal']}: {eta}")
    return "\n".join(lines)
