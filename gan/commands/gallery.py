"""``python -m gan gallery NAME [--fix] [--json]``: reproduce a classic GAN failure (or its fix)
and print the numbers that show it; ``--all`` runs every failure (or every fix) in turn;
``--list`` lists the gallery."""
from __future__ import annotations

import json

from gan.engine.data import load_mnist
from gan.models.gallery import GALLERY, get_failure, run_case


def add_parser(sub) -> None:
    p = sub.add_parser("gallery", help="reproduce a classic GAN failure, or its fix, and print its signature")
    p.add_argument("name", nargs="?", help="a failure from --list")
    p.add_argument("--all", action="store_true", help="every failure in turn (with --json: one JSON list)")
    p.add_argument("--list", action="store_true", help="list the failures")
    p.add_argument("--fix", action="store_true", help="run the standard remedy instead")
    p.add_argument("--steps", type=int, help="override the recipe's length")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data", help="directory with the MNIST IDX files")
    p.set_defaults(fn=run)


def run(args) -> None:
    if args.list or not (args.name or args.all):
        for f in GALLERY.values():
            print(f"{f.name:24s} {f.title}")
        return
    if args.all and args.name:
        raise ValueError("give a failure's name or --all, not both")
    if args.steps is not None and not 1 <= args.steps <= 10**6:
        raise ValueError(f"--steps must be in [1, 1000000], got {args.steps}")
    names = list(GALLERY) if args.all else [get_failure(args.name).name]
    data = load_mnist("train", args.data)
    results = [run_case(name, fix=args.fix, data=data, **({"steps": args.steps} if args.steps else {})) for name in names]
    if args.json:
        print(json.dumps(results if args.all else results[0]))
        return
    for name, res in zip(names, results):
        f = GALLERY[name]
        print(f"{f.title} - {'the fix' if args.fix else 'the failure'}, {res['steps']} steps, {res['seconds']} s")
        print(f.fix_what if args.fix else f.what)
        print(f"look at: {f.chart}")
        print(f"signature: {res['signature']} -> {'the failure shows' if res['shows_failure'] else 'no sign of the failure'}")
