"""``python -m gan fit-d``: fit the probe's discriminator to a shipped generator."""
from __future__ import annotations

from pathlib import Path

import torch

from gan.engine.data import load_mnist
from gan.inference.discriminators import export_discriminator, fit_discriminator


def add_parser(sub) -> None:
    p = sub.add_parser("fit-d", help="fit a discriminator to a shipped generator (for the app's probe)")
    p.add_argument("--weights", required=True, help="a generator file, e.g. weights/dcgan.safetensors")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--out", help="default: weights/discriminators/<name>.safetensors")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data")
    p.set_defaults(fn=run)


def run(args) -> None:
    if not 1 <= args.steps <= 10**6:
        raise ValueError(f"--steps must be in [1, 1000000], got {args.steps}")
    weights = Path(args.weights)
    out = Path(args.out) if args.out else weights.parent / "discriminators" / weights.name
    torch.manual_seed(0)
    trainer = fit_discriminator(weights, args.steps, load_mnist("train", args.data), args.device, log=print)
    export_discriminator(trainer, out, weights.name)
    print(f"wrote {out}")
