"""``python -m gan classifier``: retrain the evaluator's MNIST classifier."""
from __future__ import annotations

from gan.evaluation.classifier import DEFAULT_WEIGHTS, main


def add_parser(sub) -> None:
    c = sub.add_parser("classifier", help="train the evaluator classifier")
    c.add_argument("--out", default=str(DEFAULT_WEIGHTS))
    c.add_argument("--epochs", type=int, default=4)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--data")
    c.set_defaults(fn=run)


def run(args) -> None:
    acc = main(args.out, epochs=args.epochs, seed=args.seed, data_dir=args.data)
    print(f"test accuracy {acc:.4%}; wrote {args.out}")
