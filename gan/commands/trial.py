"""``python -m gan trial``: one recipe trial (``gan/shipping/trials.py``): a preset's faithful recipe, or
named changes of it given as the usual training flags, trained from scratch for a reduced length on
this CPU and scored every ``--check-every`` steps; every check goes into ``weights/trials.jsonl``.
``--table`` rewrites the model card's trials table and the charts in ``weights/trials/`` from that log.
A trial saves its state at every check (``--dir``); run again under the same name, with the same or a
larger ``--steps``, it goes on from its last check.

    setsid python -m gan trial --preset dcgan --name ema --ema 0.999 --steps 4000 --check-every 1000
    python -m gan trial --table
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from gan.commands.campaign import become_idle
from gan.commands.options import add_train_options
from gan.engine.checkpoint import atomic_write_bytes
from gan.engine.data import load_mnist
from gan.engine.options import OPTIONS
from gan.evaluation.disk_cache import cache_dir
from gan.paths import WEIGHTS_DIR
from gan.shipping.card import between_markers
from gan.shipping.trials import TRIALS_END, TRIALS_START, draw_trials, read_trials, run_trial, trials_table


def add_parser(sub) -> None:
    p = sub.add_parser("trial", help="train a recipe (the faithful one or named changes) briefly and log its FID curve")
    p.add_argument("--preset")
    p.add_argument("--name", help="the trial's name in the log and the card (short: it labels the chart)")
    p.add_argument("--steps", type=int, default=4000, help="generator steps (default 4,000)")
    p.add_argument("--check-every", type=int, default=1000, help="steps between checks (default 1,000)")
    p.add_argument("--samples", type=int, default=5000, help="samples a check scores (default 5,000)")
    p.add_argument("--log", default=str(WEIGHTS_DIR / "trials.jsonl"), help="the trials log (default: %(default)s)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: every core)")
    p.add_argument("--data", help="directory with the MNIST IDX files")
    p.add_argument("--nice", type=int, default=10, help="run at this niceness, and its session's scheduling group too "
                   "when started with setsid (default 10: above the campaign's 19, below your work)")
    p.add_argument("--dir", default=str(cache_dir() / "trials"),
                   help="each trial's checkpoint, <dir>/<preset>/<name>/, to go on from (default: %(default)s)")
    p.add_argument("--table", action="store_true", help="rewrite the card's trials table and charts from the log")
    p.add_argument("--card", default=str(WEIGHTS_DIR / "README.md"), help="the model card the table goes into")
    add_train_options(p)
    p.set_defaults(fn=run)


def changes_from_args(args) -> dict:
    """The training flags given on the command line: the trial's changes from the faithful recipe."""
    changes = {o.name: getattr(args, o.name) for o in OPTIONS if getattr(args, o.name) is not None}
    if args.betas is not None:
        changes["betas"] = list(args.betas)
    if changes.get("digits") is not None:
        changes["digits"] = list(changes["digits"])
    model = dict(args.model or {}) | {k: v for k, v in (("z_dim", args.z_dim), ("z_dist", args.z_dist)) if v is not None}
    return changes | ({"model": model} if model else {})


def run(args) -> None:
    log = Path(args.log)
    if args.table:
        trials = read_trials(log)
        if not trials:
            raise ValueError(f"no trials in {log} yet")
        card = Path(args.card)
        atomic_write_bytes(card, between_markers(card.read_text(), TRIALS_START, TRIALS_END, trials_table(trials)).encode())
        charts = draw_trials(trials, log.parent / "trials")
        print(f"{len(trials)} trials: the table in {card}, charts {', '.join(str(c) for c in charts)}")
        return
    if not args.preset or not args.name:
        raise ValueError("a trial needs --preset and --name (or --table to write the table)")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", args.name):
        raise ValueError(f"--name must be 1-40 letters, digits, '.', '_' or '-' (it names a folder), got {args.name!r}")
    for name, value, lo in (("--steps", args.steps, 1), ("--check-every", args.check_every, 1), ("--samples", args.samples, 500)):
        if value < lo:
            raise ValueError(f"{name} must be at least {lo}, got {value}")
    if not 0 <= args.nice <= 19:
        raise ValueError(f"--nice must be in [0, 19], got {args.nice}")
    become_idle(args.nice, idle_class=False, what="trial")
    torch.set_num_threads(max(1, args.threads))
    data = load_mnist("train", args.data)
    rows = run_trial(args.name, args.preset, changes_from_args(args), args.steps, args.check_every, data, log,
                     samples=args.samples, seed=args.seed or 0,
                     checkpoint=Path(args.dir).expanduser() / args.preset / args.name / "checkpoint.safetensors")
    if rows:
        print(f"{args.name}: best FID {min(r['fid_ratio'] for r in rows):.1f}x floor; logged in {log}")
