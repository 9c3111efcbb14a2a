"""``python -m gan sample``: digits from a generator file, as a PNG grid or a uint8 .npy."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gan.inference.sampling import load_generator, make_grid, to_pil


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="sample digits from a generator")
    s.add_argument("--weights", required=True)
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--digit", type=int)
    s.add_argument("--out", required=True, help="FILE.npy (uint8 N x 28 x 28) or FILE.png (grid)")
    s.add_argument("--scale", type=int, default=4, help="PNG pixels per MNIST pixel (nearest-neighbour; default 4)")
    s.set_defaults(fn=run)


def run(args) -> None:
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
        if not 1 <= args.scale <= 32:
            raise ValueError(f"--scale must be in [1, 32], got {args.scale}")
        grid = make_grid(images).numpy()
        to_pil(np.kron(grid, np.ones((args.scale, args.scale), np.uint8))).save(out)
    else:
        raise ValueError(f"--out must end in .npy or .png, got {out.name!r}")
    print(f"wrote {args.n} samples of {model.preset} (seed {args.seed}) to {out}")
