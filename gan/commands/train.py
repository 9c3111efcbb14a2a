"""``python -m gan train``: one run with a progress bar, sample PNGs, checkpoints, TensorBoard
and an optional float16 export for weights/."""
from __future__ import annotations

import sys
from pathlib import Path

from gan.commands.options import add_train_options, config_from_args


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
    t.add_argument("--quiet", action="store_true")
    t.add_argument("--export", help="also write a float16 generator-only file here (for weights/)")
    add_train_options(t)
    t.set_defaults(fn=run)


def run(args) -> None:
    from tqdm import tqdm

    from gan.data import load_mnist
    from gan.loop import train
    from gan.sampling import to_pil
    cfg = config_from_args(args)
    data = load_mnist("train", args.data, download=args.download)
    if not args.quiet:
        print(f"MNIST: {data.source} ({len(data):,} training images)")
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    writer = None
    if args.tensorboard:
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

    result = train(cfg, progress=progress, data=data, resume=args.resume)
    bar.close()
    if writer is not None:
        writer.close()
    recipe = {"command": "python -m gan train " + " ".join(sys.argv[2:] if args.argv is None else args.argv),
              "device": str(result.trainer.device), "train_seconds": round(result.history[-1].elapsed, 1),
              "epochs": round(result.trainer.epoch, 2), "status": result.status}
    result.trainer.export_generator(out / "generator.safetensors", extra={"recipe": recipe})
    if args.export:
        result.trainer.export_generator(args.export, extra={"recipe": recipe}, half=True)
        print(f"exported the generator (float16) to {args.export}")
    print(f"{result.status}: {result.message}; checkpoint {out / 'checkpoint.safetensors'}, "
          f"generator {out / 'generator.safetensors'}")
    if result.status == "diverged":
        sys.exit(3)
