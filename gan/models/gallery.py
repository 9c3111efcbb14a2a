"""The failure gallery: classic ways GAN training goes wrong, each reproduced in
under 30 s on a 2-core CPU (Goodfellow's MLP GAN on real MNIST, a fixed number of steps), with
what is happening, the chart that shows it, the numbers that prove it (its *signature*) and a
"fix it" run that applies the standard remedy.

``run_case("vanishing-gradients")`` / ``run_case(..., fix=True)`` return the signature; the
app starts the same recipes as ordinary runs, and ``python -m gan gallery`` prints them.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Callable

from gan.engine.config import TrainConfig
from gan.engine.data import load_mnist
from gan.engine.loop import start_from, train
from gan.engine.trainer import Trainer
from gan.evaluation.evaluate import QualityHook
from gan.inference.sampling import load_generator
from gan.paths import WEIGHTS_DIR

BASE = {"preset": "vanilla", "ema": 0.0, "seed": 0}


@dataclass(frozen=True)
class Failure:
    name: str
    title: str
    what: str                          # what is happening, for someone new to GANs
    chart: str                         # where to see it
    recipe: dict                       # TrainConfig options (on top of BASE) that produce it
    fix: dict                          # the remedy: options that replace the recipe's
    fix_what: str
    measure: Callable[[list[dict], dict | None], dict]   # (progress rows, final quality) -> signature numbers
    shows: Callable[[dict], bool]                          # does the signature show the failure?
    needs_quality: bool = False
    steps: int = field(default=100)
    init: str = "scratch"              # "pretrained": both runs start from the shipped generator of the preset


def _mean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.mean(vals), 4) if vals else float("nan")


def _last(rows: list[dict], n: int = 3) -> list[dict]:
    return rows[-n:]


FAILURES = (
    Failure(
        "vanishing-gradients", "Vanishing generator gradients (the original minimax loss)",
        "With Goodfellow's original objective G minimises log(1 - D(G(z))). While D easily spots the "
        "fakes, D(G(z)) is near 0 where that curve is flat, so G gets almost no gradient and learns slowly. "
        "The non-saturating loss (G maximises log D(G(z))) has a steep slope exactly there.",
        "Gradient norms: G's line stays near zero while D(G(z)) is low.",
        {"loss": "minimax", "d_steps": 5, "lr_d": 1e-3, "steps": 60}, {"loss": "non-saturating"},
        "Same strong D, non-saturating loss: G's gradient is about ten times larger from the first steps.",
        lambda rows, q: {"grad_norm_g": _mean(rows, "grad_norm_g"), "d_fake": _mean(_last(rows), "d_fake")},
        lambda s: s["grad_norm_g"] < 3.0),
    Failure(
        "discriminator-wins", "The discriminator overpowers the generator",
        "Ten D steps per G step at ten times G's learning rate: D learns to tell every fake from every "
        "real digit. D(x) -> 1, D(G(z)) -> 0 and D's loss -> 0; G is told only 'fake', with no hint of "
        "how to be less fake.",
        "D(x) and D(G(z)): the two lines split to 1 and 0; Losses: D's falls to 0.",
        {"d_steps": 10, "lr_d": 2e-3, "lr_g": 5e-5, "steps": 80}, {"d_steps": 1, "lr_d": 2e-4, "lr_g": 2e-4},
        "One D step per G step, equal learning rates: D(x) and D(G(z)) stay near each other.",
        lambda rows, q: {"d_real": _mean(_last(rows), "d_real"), "d_fake": _mean(_last(rows), "d_fake"),
                         "d_loss": _mean(_last(rows), "d_loss")},
        lambda s: s["d_fake"] < 0.05 and s["d_loss"] < 0.1),
    Failure(
        "learning-rate-too-high", "Learning rate too high",
        "At a learning rate of 0.1 (500x the recipe) each Adam step moves the weights so far that the "
        "game never settles: the losses explode within a hundred steps and the pictures turn to static. "
        "If they overflow, the NaN guard stops the run and keeps the last good weights.",
        "Losses: G's loss shoots up by orders of magnitude.",
        {"lr_g": 0.1, "lr_d": 0.1, "steps": 100}, {"lr_g": 2e-4, "lr_d": 2e-4},
        "The recipe's 2e-4: the losses stay near log 2 and 2 log 2, where the game balances.",
        lambda rows, q: {"max_abs_g_loss": round(max((abs(r["g_loss"]) for r in rows if r.get("g_loss") is not None),
                                                     default=float("inf")), 2)},
        lambda s: s["max_abs_g_loss"] > 100),
    Failure(
        "mode-collapse", "Mode collapse",
        "Both runs start from the shipped MLP generator, which draws all ten digits. Then G learns 1,000 times "
        "faster than D (learning rates 5e-2 and 5e-5): it finds a digit that fools D right now and draws "
        "almost nothing else; by the time D catches up G just jumps to another one. The mode meter falls "
        "from ten digits to one or two.",
        "Class histogram and the quality line: one tall bar, the others gone.",
        {"lr_g": 5e-2, "lr_d": 5e-5, "steps": 300}, {"lr_g": 1e-4, "lr_d": 1e-4},
        "Balanced, gentle learning rates (1e-4 each) from the same start: all ten digits stay. (The recipe's "
        "2e-4 keeps about eight: D starts from scratch, and its first crude verdicts push a trained G around.)",
        lambda rows, q: {"modes": q["modes"], "largest_share": round(max(q["class_hist"]), 3)},
        lambda s: s["modes"] <= 2 and s["largest_share"] >= 0.8, needs_quality=True, init="pretrained"),
)
GALLERY = {f.name: f for f in FAILURES}


def case_config(name: str, fix: bool = False, device: str = "cpu", **overrides):
    f = get_failure(name)
    opts = {"steps": f.steps} | BASE | f.recipe | (f.fix if fix else {}) | overrides
    return TrainConfig.for_preset(opts.pop("preset"), device=device, log_every=10, sample_every=10**6, **opts)


def get_failure(name: str) -> Failure:
    if not isinstance(name, str) or name not in GALLERY:
        raise ValueError(f"unknown failure {name!r}: the name must be one of {', '.join(GALLERY)}")
    return GALLERY[name]


def run_case(name: str, fix: bool = False, data=None, device: str = "cpu", **overrides) -> dict:
    """Train the failure's recipe (or its fix) from scratch and measure its signature."""
    f = get_failure(name)
    rows: list[dict] = []
    cfg = case_config(name, fix, device, **overrides)
    trainer = Trainer(cfg, data if data is not None else load_mnist("train"))
    if f.init == "pretrained":
        start_from(trainer, load_generator(WEIGHTS_DIR / f"{cfg.preset}.safetensors"))
    result = train(trainer=trainer, progress=lambda p: rows.append(p.stats) if p.stats else None)
    quality = QualityHook(result.trainer).final() if f.needs_quality else None
    signature = f.measure(rows, quality)
    return {"failure": name, "run": "fix" if fix else "failure", "status": result.status, "steps": result.trainer.step,
            "seconds": round(result.history[-1].elapsed, 1), "signature": signature, "shows_failure": f.shows(signature)}
