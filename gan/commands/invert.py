"""``python -m gan invert``: find a drawing in a generator (``gan.inference.inversion``): the latent
(and, for a conditional model, the class) whose digit is closest to it; writes the drawing as the
model sees it beside the match."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from gan.app.inputs import decode_drawing
from gan.engine.checkpoint import save_tensors
from gan.evaluation.classifier import embed
from gan.inference.inversion import invert
from gan.inference.sampling import load_generator, make_grid, to_pil


def add_parser(sub) -> None:
    s = sub.add_parser("invert", help="find a drawn digit in a generator (GAN inversion)")
    s.add_argument("--weights", required=True, help="generator .safetensors")
    s.add_argument("--image", required=True, help="a picture of one digit (any size and mode; dark on light or light on dark)")
    s.add_argument("--out", required=True, help="FILE.png: the drawing as the model sees it (28x28), then the match")
    s.add_argument("--latent-out", help="FILE.safetensors: the match's latent z (and its class) to explore from")
    s.add_argument("--starts", type=int, default=8, help="random starting latents searched at once (default 8)")
    s.add_argument("--steps", type=int, default=120, help="Adam steps (default 120)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scale", type=int, default=8, help="PNG pixels per MNIST pixel (default 8)")
    s.set_defaults(fn=run)


def run(args) -> None:
    for name, lo, hi in (("starts", 1, 64), ("steps", 1, 5000), ("scale", 1, 32)):
        if not lo <= getattr(args, name) <= hi:
            raise ValueError(f"--{name} must be in [{lo}, {hi}], got {getattr(args, name)}")
    out = Path(args.out)
    if out.suffix != ".png":
        raise ValueError(f"--out must end in .png, got {out.name!r}")
    if args.latent_out and Path(args.latent_out).suffix != ".safetensors":
        raise ValueError(f"--latent-out must end in .safetensors, got {Path(args.latent_out).name!r}")
    if not Path(args.image).is_file():
        raise FileNotFoundError(f"no such image: {args.image}")
    target = decode_drawing(args.image)                 # refuses non-images, empty and too-small pictures
    model = load_generator(args.weights)
    t0 = time.perf_counter()
    *_, match = invert(model, target, starts=args.starts, steps=args.steps, seed=args.seed)
    took = time.perf_counter() - t0
    cls = int(embed(match.image[None])[1].argmax())
    out.parent.mkdir(parents=True, exist_ok=True)
    pair = make_grid(np.stack([target, match.image]), nrow=2).numpy()
    to_pil(np.kron(pair, np.ones((args.scale, args.scale), np.uint8))).save(out)
    if args.latent_out:
        Path(args.latent_out).parent.mkdir(parents=True, exist_ok=True)
        tensors = {"z": match.z.contiguous()} | ({} if match.label is None else {"label": torch.tensor([match.label])})
        save_tensors(args.latent_out, tensors, {"preset": model.preset, "image": Path(args.image).name})
    drawn = f", drawn as class {match.label}" if match.label is not None else ""
    print(f"found in {model.preset} in {took:.1f} s ({args.starts} starts x {args.steps} steps): "
          f"{match.distance:.1f} grey levels from the drawing (RMS), read as a {cls}{drawn}; wrote {out}")
