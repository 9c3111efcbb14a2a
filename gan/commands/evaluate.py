"""``python -m gan eval``: FID, classifier score, modes and precision/recall of a generator;
``--write-metrics`` records the result for a shipped file in weights/metrics.json and
regenerates the model card's table (weights/README.md) from it."""
from __future__ import annotations

import json
from pathlib import Path

from gan.evaluation.evaluate import evaluate
from gan.inference.sampling import load_generator
from gan.shipping.batchnorm import keep_if_better
from gan.shipping.card import metrics_entry, write_metrics


def add_parser(sub) -> None:
    e = sub.add_parser("eval", help="FID, classifier score, modes, precision/recall vs MNIST test")
    e.add_argument("--weights", required=True)
    e.add_argument("--n", type=int, default=10000)
    e.add_argument("--seed", type=int, default=12345)
    e.add_argument("--json", action="store_true")
    e.add_argument("--write-metrics", action="store_true",
                   help="record the result under the file's preset in metrics.json beside it and rewrite the card's table")
    e.add_argument("--reestimate-batchnorm", action="store_true",
                   help="also score the file with its BatchNorm statistics re-estimated (100 passes of 500 latents); "
                        "with --write-metrics, keep that file in its place when it scores better")
    e.set_defaults(fn=run)


def run(args) -> None:
    if not 100 <= args.n <= 60000:
        raise ValueError(f"--n must be in [100, 60000], got {args.n}")
    model = load_generator(args.weights)
    res = evaluate(model, n=args.n, seed=args.seed)
    if args.reestimate_batchnorm:
        model, res = _better_batchnorm(args, model, res)
    if args.write_metrics:
        weights = Path(args.weights)
        entry = metrics_entry(res, model.meta)
        write_metrics(weights.parent, weights.stem, entry)
        print(f"recorded {weights.stem} in {weights.parent / 'metrics.json'} and the table of {weights.parent / 'README.md'}")
    if args.json:
        print(json.dumps(res))
        return
    print(format_table(res))


def _better_batchnorm(args, model, res):
    """The file with re-estimated BatchNorm statistics, when it scores better (and, with
    --write-metrics, written in the original's place); otherwise the original."""
    weights = Path(args.weights)
    alt_res, keep = keep_if_better(weights, res, lambda p: evaluate(load_generator(p), n=args.n, seed=args.seed),
                                   replace=args.write_metrics)
    if alt_res is None:
        print("this generator has no BatchNorm: nothing to re-estimate")
        return model, res
    print(f"FID / floor {res['fid_ratio']:.3f}x as saved, {alt_res['fid_ratio']:.3f}x with re-estimated BatchNorm "
          f"statistics: {'better' if keep else 'not better'}")
    if keep and args.write_metrics:
        print(f"kept: {weights} now holds the re-estimated statistics")
        return load_generator(weights), alt_res
    return model, alt_res if keep else res


def format_table(res: dict) -> str:
    rows = []
    for k, v in res.items():
        if isinstance(v, float):
            v = f"{v:12.4f}"
        elif isinstance(v, list):
            v = " ".join(f"{x:.3f}" for x in v)
        rows.append(f"{k:22s} {v:>12}" if not isinstance(v, str) or len(v) <= 12 else f"{k:22s} {v}")
    return "\n".join([f"{'metric':22s} {'value':>12s}"] + rows)
