"""``python -m gan train``: one run with a progress bar, sample PNGs, checkpoints, TensorBoard
and an optional float16 export for weights/."""
from __future__ import annotations

import signal
import sys
from pathlib import Path

from tqdm import tqdm

from gan.commands.options import add_train_options, config_from_args
from gan.engine import distributed
from gan.engine.data import load_mnist
from gan.engine.loop import resume_trainer, train
from gan.engine.trainer import Trainer
from gan.evaluation.evaluate import QualityHook, evaluate
from gan.inference.sampling import to_pil
from gan.models.registry import get_preset, goal_shortfalls


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a preset")
    t.add_argument("--preset", required=True)
    length = t.add_argument_group("length (the first reached ends the run; default 1 epoch)")
    length.add_argument("--epochs", type=float)
    length.add_argument("--steps", type=int)
    length.add_argument("--seconds", type=float)
    t.add_argument("--out", required=True, help="output directory")
    t.add_argument("--resume", help="checkpoint to continue from")
    t.add_argument("--data", help="directory with the MNIST IDX files")
    t.add_argument("--download", action="store_true", help="allow torchvision to download MNIST")
    t.add_argument("--tensorboard", action="store_true")
    t.add_argument("--log-every", type=int)
    t.add_argument("--sample-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--quiet", action="store_true", help="no progress bar (goal checks still print)")
    t.add_argument("--export", help="also write a float16 generator-only file here (for weights/)")
    t.add_argument("--stop-at-goal", type=float, metavar="SECONDS",
                   help="every SECONDS of training, score 2,000 samples; stop once the preset's goal is met")
    t.add_argument("--no-sync-bn", action="store_true",
                   help="under torchrun on CUDA: keep BatchNorm statistics per process (default: SyncBatchNorm)")
    t.add_argument("--dist-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="under torchrun: how long a process waits for a lost peer before giving up (default 300)")
    add_train_options(t)
    t.set_defaults(fn=run)


class GoalWatch:
    """Scores the run's sampling generator every ``every`` seconds of training (``evaluate`` on
    2,000 samples through the shared ``QualityHook``; the time it takes counts as the run's) and
    says when the preset's goal is met, so a run stops at its goal instead of its time limit."""

    def __init__(self, trainer, every: float, n: int = 2000, log=print):
        self.goal, self.log, self.checks = get_preset(trainer.cfg.preset).goal, log, []
        self.progress = QualityHook(trainer, every_seconds=every, score=lambda m: evaluate(m, n=n, pr=False),
                                    on_check=self._heard)

    def _heard(self, m: dict) -> None:
        short = goal_shortfalls(self.goal, m)
        self.checks.append({"seconds": m["seconds"], "step": m["step"], "fid_ratio": round(m["fid_ratio"], 2),
                            "modes": m["modes"], "short": short})
        if self.log:
            self.log(f"\n  goal check at {m['seconds']:.0f}s, step {m['step']}: FID {m['fid_ratio']:.1f}x floor, "
                     f"{m['modes']} modes - {'goal met' if not short else 'short: ' + ', '.join(short)}")

    def reached(self) -> bool:
        return bool(self.checks) and not self.checks[-1]["short"]


def run(args) -> None:
    """One run; under torchrun, this process's share of a distributed run (gan/engine/distributed.py)."""
    world = distributed.World.from_env()
    cfg = config_from_args(args)
    if args.resume and not Path(args.resume).is_file():     # before MNIST loads and the bar starts
        raise FileNotFoundError(f"--resume: no checkpoint at {args.resume}")
    cfg.device, cfg.sync_bn = world.device(cfg.device), not args.no_sync_bn
    distributed.start(world, cfg.device, args.dist_timeout)
    try:
        _run(args, cfg, world)
    finally:
        distributed.stop()


class Terminated(Exception):
    pass


def _terminated(signum, frame):
    raise Terminated("stopped by torchrun (another process of the run failed)")


def ended_by(cfg, result) -> str:
    """Which of several lengths ended a finished run, when it was not the one the bar counted."""
    if result.status != "finished" or cfg.seconds is None or (cfg.steps is None and cfg.epochs is None):
        return ""
    total = result.history[-1].total_steps
    if total is not None and result.trainer.step < total:
        return f"--seconds {cfg.seconds:g} was reached before step {total}"
    return ""


def describe_world(trainer) -> str:
    w, cfg = trainer.world, trainer.cfg
    backend = "nccl" if trainer.device.type == "cuda" else "gloo"
    sync = ("SyncBatchNorm" if cfg.sync_bn else "BatchNorm statistics per process") if trainer.device.type == "cuda" \
        else "BatchNorm statistics per process"
    return (f"distributed: {w.size} processes ({backend}), effective batch {w.size} x {cfg.batch_size} = "
            f"{trainer.global_batch} images; learning rates as given (G {cfg.lr_g:g}, D {cfg.lr_d:g}): gradients are "
            f"averaged over the effective batch, so this run equals one process with batch {trainer.global_batch}; "
            f"{sync}; {trainer.step_mode} step" + (f" ({trainer.step_note})" if trainer.step_note else ""))


def _run(args, cfg, world) -> None:

    data = load_mnist("train", args.data, download=args.download)
    args.quiet = args.quiet or not world.main           # rank 0 alone reports
    if not args.quiet:
        print(f"MNIST: {data.source} ({len(data):,} training images)")
    out = Path(args.out)
    if world.main:
        (out / "samples").mkdir(parents=True, exist_ok=True)
    writer = None
    if args.tensorboard and world.main:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(out / "tb"))
    by_time = cfg.steps is None and cfg.epochs is None       # a --seconds run: the bar counts seconds
    bar = tqdm(total=round(cfg.seconds) if by_time else None, unit="s" if by_time else "step", dynamic_ncols=True,
               disable=args.quiet, bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt}s [{elapsed}<{remaining}{postfix}]"
               if by_time else None)

    def progress(p):
        if p.samples is not None:
            to_pil(p.samples.numpy()).save(out / "samples" / f"step_{p.step:07d}.png")
            if writer is not None:
                writer.add_image("samples", p.samples.numpy()[None], p.step)
        if p.total_steps is not None and not by_time:
            bar.total = p.total_steps
        bar.n = min(p.elapsed, bar.total) if by_time else p.step
        s = p.stats
        if not s:                      # nothing trained yet (the starting picture, or a finished run resumed)
            return
        bar.set_postfix_str(f"step {p.step} D {s['d_loss']:.3f} G {(s['g_loss'] if s['g_loss'] is not None else float('nan')):.3f} "
                            f"D(x) {s['d_real']:.2f} D(G(z)) {s['d_fake']:.2f} {p.images_per_sec:,.0f} img/s")
        bar.refresh()
        if writer is not None:
            for k, v in s.items():
                if v is not None:
                    writer.add_scalar(f"train/{k}", v, p.step)
            writer.add_scalar("train/images_per_sec", p.images_per_sec, p.step)

    trainer = resume_trainer(cfg, args.resume, data, world) if args.resume else Trainer(cfg, data, world)
    if world.active and world.main:
        print(describe_world(trainer))
    watch = GoalWatch(trainer, args.stop_at_goal, log=print if world.main else None) if args.stop_at_goal else None
    hook = progress if watch is None else (lambda p: (progress(p), watch.progress(p)))
    if world.active:                         # torchrun stops every process with SIGTERM when one fails
        signal.signal(signal.SIGTERM, _terminated)
    try:
        result = train(progress=hook, trainer=trainer, abort=watch.reached if watch else None)
    except (RuntimeError, Terminated) as e:  # a lost peer: gloo/NCCL raise RuntimeError kinds
        if not world.active:
            raise
        bar.close()
        last = out / "checkpoint.safetensors"
        print(f"rank {world.rank}: the run stopped at step {trainer.step}: {str(e).splitlines()[0][:200]}. "
              f"The last checkpoint is {last}{'' if last.exists() else ' (none written yet)'}; "
              f"continue with --resume {last}", file=sys.stderr, flush=True)
        sys.exit(4)
    bar.close()
    if not world.main:
        return
    if writer is not None:
        writer.close()
    recipe = {"command": "python -m gan train " + " ".join(sys.argv[2:] if args.argv is None else args.argv),
              "device": str(result.trainer.device), "train_seconds": round(result.trainer.train_seconds, 1),
              "epochs": round(result.trainer.epoch, 2), "status": result.status,
              "step_mode": result.trainer.step_mode} | ({"goal_checks": watch.checks} if watch else {})
    result.trainer.export_generator(out / "generator.safetensors", extra={"recipe": recipe})
    if args.export:
        result.trainer.export_generator(args.export, extra={"recipe": recipe}, half=True)
        print(f"exported the generator (float16) to {args.export}")
    ended = ended_by(cfg, result)
    print(f"{result.status}: {result.message}{f' ({ended})' if ended else ''}; checkpoint "
          f"{out / 'checkpoint.safetensors'}, generator {out / 'generator.safetensors'}")
    if result.status == "diverged":
        sys.exit(3)
