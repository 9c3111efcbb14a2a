"""``python -m gan campaign``: this CPU trains every shipped generator short of its goal, in the
background, resumably (``gan/shipping/campaign.py``); ``--status`` says where each one stands and draws
the FID-vs-CPU-hours curves into weights/campaign.png.

    setsid nohup python -m gan campaign >> ~/.cache/gan-playground/campaign.log 2>&1 &    # start or resume
    python -m gan campaign --status
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

from gan.engine.data import load_mnist
from gan.evaluation.disk_cache import cache_dir
from gan.paths import WEIGHTS_DIR
from gan.shipping.campaign import Campaign, default_targets, format_status
from gan.shipping.campaign_chart import draw_curves
from gan.shipping.trials import trial_cpu_hours


def add_parser(sub) -> None:
    p = sub.add_parser("campaign", help="train every shipped generator short of its goal on this CPU, resumably")
    p.add_argument("--dir", default=str(cache_dir() / "campaign"),
                   help="checkpoints and state, outside the work tree (default: %(default)s)")
    p.add_argument("--weights", default=str(WEIGHTS_DIR), help="the weights folder to install better files into")
    p.add_argument("--targets", help="comma-separated subset of the targets (default: all, in priority order)")
    p.add_argument("--slice-minutes", type=float, default=15.0,
                   help="CPU minutes of training per turn before a check (default 15)")
    p.add_argument("--turns", type=int, help="stop after this many turns (default: until every goal is met)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: every core)")
    p.add_argument("--patience", type=int, default=4,
                   help="checks (and at least half a CPU hour) a run may go past its best before it counts as "
                        "stalled and gets no more turns until its recipe changes (default 4; 0: never)")
    p.add_argument("--no-install", action="store_true", help="measure and keep the best files, never touch weights/")
    p.add_argument("--data", help="directory with the MNIST IDX files")
    p.add_argument("--status", action="store_true", help="print where each target stands and draw the curves")
    p.add_argument("--take-over", metavar="CHECKPOINT",
                   help="make this checkpoint of the target's weights recipe (a recipe trial's) the one target's "
                        "run, check it at once and stop (its CPU hours from the cpu_hours.json beside it)")
    p.set_defaults(fn=run)


def run(args) -> None:
    targets = default_targets()
    if args.targets:
        names = args.targets.split(",")
        unknown = sorted(set(names) - {t.name for t in targets})
        if unknown:
            raise ValueError(f"unknown target(s) {unknown}; choose from {','.join(t.name for t in targets)}")
        targets = [t for t in targets if t.name in names]
    if args.patience < 0:
        raise ValueError(f"--patience must be 0 (never) or more checks, got {args.patience}")
    if not 0.05 <= args.slice_minutes <= 600:
        raise ValueError(f"--slice-minutes must be in [0.05, 600], got {args.slice_minutes}")
    if args.take_over and len(targets) != 1:
        raise ValueError("--take-over needs the one target it is for: --targets NAME")
    if args.take_over and not Path(args.take_over).is_file():
        raise ValueError(f"--take-over: no checkpoint at {args.take_over}")
    if args.status:
        c = Campaign(args.dir, args.weights, None, targets, log=print, patience=(args.patience, 0.5))
        print(format_status(c.status_rows()))
        png = Path(args.weights) / "campaign.png"
        draw_curves(c.state, {t.name: t.goal.get("fid_ratio") for t in targets}, png)
        print(f"curves: {png}")
        return
    become_idle()
    torch.set_num_threads(max(1, args.threads))
    lock = Path(args.dir).expanduser() / "campaign.pid"
    claim(lock)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    try:
        c = Campaign(args.dir, args.weights, load_mnist("train", args.data), targets, args.slice_minutes * 60,
                     install=not args.no_install, log=lambda s: print(s, flush=True), patience=(args.patience, 0.5))
        if args.take_over:
            c.take_over(targets[0], Path(args.take_over), trial_cpu_hours(Path(args.take_over)))
        else:
            c.run(abort=lambda: bool(stop), max_turns=args.turns)
    finally:
        lock.unlink(missing_ok=True)


def become_idle(level: int = 19, idle_class: bool = True, what: str = "campaign") -> None:
    """Idle scheduling class where Linux has it (a core only when nothing else wants it; with
    ``idle_class``), and nice ``level``; set before torch starts its threads, which inherit it. With the kernel's autogroups
    (``/proc/sys/kernel/sched_autogroup_enabled``) a thread's class and nice only count inside its
    session's group, and each session's group gets an equal share: so a campaign started as a
    session of its own (``setsid``) gives that group nice 19 too. Measured here: without it, a 2-thread training
    run of the failure gallery beside the campaign took 66.6 s instead of 2.0 s."""
    if idle_class:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError):
            pass
    try:
        os.nice(max(0, level - os.nice(0)))
    except OSError:
        pass
    autogroup = Path("/proc/self/autogroup")
    if autogroup.is_file() and os.getsid(0) == os.getpid():
        try:
            autogroup.write_text(str(level))
        except OSError:
            pass
    elif autogroup.is_file():
        print(f"note: start the {what} with `setsid` so that it yields the CPU to other sessions too "
              "(it shares a scheduling group with this terminal)", file=sys.stderr, flush=True)


def running_pid(lock: Path) -> int | None:
    """The pid in ``lock`` if that process is alive, else None (no file, garbage, a dead process)."""
    try:
        pid = int(lock.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def claim(lock: Path) -> None:
    """One campaign per folder: refuse to start beside a live one (a stale pid file is taken over)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    pid = running_pid(lock)
    if pid is not None and pid != os.getpid():
        raise ValueError(f"a campaign (pid {pid}) already runs in {lock.parent}; stop it first (kill {pid})")
    lock.write_text(str(os.getpid()))
    print(f"campaign in {lock.parent} (pid {os.getpid()}, idle priority)", file=sys.stderr, flush=True)
