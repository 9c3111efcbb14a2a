"""Command line: ``python -m gan {list,train,sample,eval,classifier,bench,load,fit-d}``.

Every failure a user can cause (unknown preset, impossible sizes, missing or malformed
files) ends in one ``error: ...`` line and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gan.data import MNISTNotFound


def _digits(s: str) -> tuple[int, ...]:
    try:
        return tuple(int(c) for c in s.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"digits must be like '0' or '3,5,8', got {s!r}") from None


def _betas(s: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in s.split(","))
        return a, b
    except ValueError:
        raise argparse.ArgumentTypeError(f"betas must be like '0.5,0.999', got {s!r}") from None


def add_train_options(p: argparse.ArgumentParser) -> None:
    """Options every run can set; unset ones keep the preset's recipe."""
    from gan.losses import LOSSES
    g = p.add_argument_group("training options (default: the preset's recipe)")
    g.add_argument("--loss", choices=LOSSES)
    g.add_argument("--label-smoothing", type=float)
    g.add_argument("--d-steps", type=int, help="discriminator steps per generator step")
    g.add_argument("--d-pretrain-steps", type=int)
    g.add_argument("--gp-weight", type=float)
    g.add_argument("--optimizer", choices=("adam", "rmsprop"))
    g.add_argument("--lr-g", type=float)
    g.add_argument("--lr-d", type=float)
    g.add_argument("--betas", type=_betas)
    g.add_argument("--clip-grad", type=float)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--z-dim", type=int)
    g.add_argument("--z-dist", choices=("normal", "uniform"))
    g.add_argument("--ema", type=float, help="EMA decay of G (0 = off)")
    g.add_argument("--digits", type=_digits, help="train on these digits only, e.g. 0 or 3,5,8")
    g.add_argument("--seed", type=int)
    g.add_argument("--device", default="auto")
    g.add_argument("--no-compile", action="store_true")
    add_amp_option(g)
    g.add_argument("--model", type=json.loads, default=None, help='architecture overrides as JSON, e.g. \'{"ngf": 32}\'')


def add_amp_option(p) -> None:
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: on for CUDA and CPUs with native bf16)")


def config_from_args(args):
    from gan.config import TrainConfig
    model = dict(args.model or {})
    if args.z_dim is not None:
        model["z_dim"] = args.z_dim
    if args.z_dist is not None:
        model["z_dist"] = args.z_dist
    overrides = {k: getattr(args, k) for k in ("loss", "label_smoothing", "d_steps", "d_pretrain_steps", "gp_weight",
                                               "optimizer", "lr_g", "lr_d", "betas", "clip_grad", "batch_size", "ema",
                                               "digits", "seed", "device", "amp")}
    if model:
        overrides["model"] = model
    if getattr(args, "no_compile", False):
        overrides["compile"] = False
    for k in ("steps", "epochs", "seconds", "log_every", "sample_every", "checkpoint_every"):
        if getattr(args, k, None) is not None:
            overrides[k] = getattr(args, k)
    if overrides.get("steps") is None and overrides.get("epochs") is None and overrides.get("seconds") is None:
        overrides["epochs"] = 1
    if getattr(args, "out", None):
        overrides["out_dir"] = str(args.out)
    return TrainConfig.for_preset(args.preset, **overrides)


def cmd_list(args) -> None:
    from gan.registry import get_preset, preset_names
    for name in preset_names():
        print(f"{name:12s} {get_preset(name).description}")


def cmd_train(args) -> None:
    from tqdm import tqdm

    from gan.data import load_mnist
    from gan.loop import train
    from gan.sampling import to_pil
    cfg = config_from_args(args)
    data = load_mnist("train", args.data, download=args.download)
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    writer = None
    if args.tensorboard:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(out / "tb"))
    bar = tqdm(total=None, unit="step", dynamic_ncols=True, disable=args.quiet)

    def progress(p):
        if p.total_steps is not None:
            bar.total = p.total_steps
        bar.n = p.step
        s = p.stats
        if not s:                      # nothing trained in this report (a resumed run that was already done)
            return
        bar.set_postfix_str(f"D {s['d_loss']:.3f} G {(s['g_loss'] if s['g_loss'] is not None else float('nan')):.3f} "
                            f"D(x) {s['d_real']:.2f} D(G(z)) {s['d_fake']:.2f} {p.images_per_sec:,.0f} img/s")
        bar.refresh()
        if writer is not None:
            for k, v in s.items():
                if v is not None:
                    writer.add_scalar(f"train/{k}", v, p.step)
            writer.add_scalar("train/images_per_sec", p.images_per_sec, p.step)
        if p.samples is not None:
            to_pil(p.samples.numpy()).save(out / "samples" / f"step_{p.step:07d}.png")
            if writer is not None:
                writer.add_image("samples", p.samples.numpy()[None], p.step)

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


def cmd_sample(args) -> None:
    from gan.sampling import load_generator, make_grid, to_pil
    if not 1 <= args.n <= 10000:
        raise ValueError(f"--n must be in [1, 10000], got {args.n}")
    model = load_generator(args.weights)
    if args.digit is not None and not model.conditional:
        raise ValueError(f"--digit needs a conditional model; {model.preset!r} is unconditional")
    if args.digit is not None and not 0 <= args.digit <= 9:
        raise ValueError(f"--digit must be in 0-9, got {args.digit}")
    images = model.sample(args.seed, args.n, args.digit)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, images)
    elif out.suffix == ".png":
        to_pil(make_grid(images).numpy()).save(out)
    else:
        raise ValueError(f"--out must end in .npy or .png, got {out.name!r}")
    print(f"wrote {args.n} samples of {model.preset} (seed {args.seed}) to {out}")


def cmd_eval(args) -> None:
    from gan.evaluate import evaluate
    from gan.sampling import load_generator
    if not 100 <= args.n <= 60000:
        raise ValueError(f"--n must be in [100, 60000], got {args.n}")
    res = evaluate(load_generator(args.weights), n=args.n, seed=args.seed)
    if args.json:
        print(json.dumps(res))
        return
    print(f"{'metric':18s} value")
    for k, v in res.items():
        print(f"{k:18s} {v if not isinstance(v, float) else f'{v:.4f}'}")


def cmd_classifier(args) -> None:
    from gan.evaluator import main
    acc = main(args.out, epochs=args.epochs, seed=args.seed, data_dir=args.data)
    print(f"test accuracy {acc:.4%}; wrote {args.out}")


def build_parser() -> argparse.ArgumentParser:
    from gan.evaluator import DEFAULT_WEIGHTS
    p = argparse.ArgumentParser(prog="python -m gan", description="MNIST GAN playground")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the presets").set_defaults(fn=cmd_list)

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
    t.set_defaults(fn=cmd_train)

    s = sub.add_parser("sample", help="sample digits from a generator")
    s.add_argument("--weights", required=True)
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--digit", type=int)
    s.add_argument("--out", required=True, help="FILE.npy (uint8 N x 28 x 28) or FILE.png (grid)")
    s.set_defaults(fn=cmd_sample)

    e = sub.add_parser("eval", help="FID, classifier score, modes, precision/recall vs MNIST test")
    e.add_argument("--weights", required=True)
    e.add_argument("--n", type=int, default=10000)
    e.add_argument("--seed", type=int, default=12345)
    e.add_argument("--json", action="store_true")
    e.set_defaults(fn=cmd_eval)

    c = sub.add_parser("classifier", help="train the evaluator classifier")
    c.add_argument("--out", default=str(DEFAULT_WEIGHTS))
    c.add_argument("--epochs", type=int, default=4)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--data")
    c.set_defaults(fn=cmd_classifier)

    from gan.bench import add_bench_parser
    add_bench_parser(sub)
    from gan.loadtest import add_load_parser
    add_load_parser(sub)
    from gan.discriminators import add_fit_d_parser
    add_fit_d_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = None if argv is None else list(argv)[1:]
    try:
        args.fn(args)
    except (ValueError, FileNotFoundError, MNISTNotFound, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
