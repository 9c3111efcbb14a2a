"""Options shared by the subcommands that train (train, bench, gpu-suite): the flags of the
options table (``gan.engine.options``) and a few more; unset ones keep the preset's recipe, and
``config_from_args`` turns them into one validated TrainConfig."""
from __future__ import annotations

import argparse
import json

from gan.engine.config import TrainConfig
from gan.engine.options import OPTIONS


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


def _json_object(s: str) -> dict:
    try:
        value = json.loads(s)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON ({e.msg} at character {e.pos}): {s!r}; "
                                         'write it like \'{"ngf": 32}\'') from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f'a JSON object like \'{{"ngf": 32}}\', got {s!r}')
    return value


TYPES = {"int": int, "float": float, "digits": _digits}


def add_train_options(p: argparse.ArgumentParser) -> None:
    """Options every run can set (the rows of ``gan.engine.options.OPTIONS`` and a few more);
    unset ones keep the preset's recipe."""
    g = p.add_argument_group("training options (default: the preset's recipe)")
    for o in OPTIONS:
        kind = dict(choices=o.choices) if o.kind == "choice" else dict(type=TYPES[o.kind])
        g.add_argument(o.flag, **kind, help=o.help or o.label)     # the bounds: TrainConfig.validate, one line
    g.add_argument("--betas", type=_betas)
    g.add_argument("--z-dim", type=int)
    g.add_argument("--z-dist", choices=("normal", "uniform"))
    g.add_argument("--seed", type=int)
    g.add_argument("--device", default="auto")
    g.add_argument("--no-compile", action="store_true")
    add_amp_option(g)
    g.add_argument("--model", type=_json_object, default=None, help='architecture overrides as JSON, e.g. \'{"ngf": 32}\'')


def add_amp_option(p) -> None:
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: on for CUDA and CPUs with native bf16)")


def config_from_args(args):
    model = dict(args.model or {})
    if args.z_dim is not None:
        model["z_dim"] = args.z_dim
    if args.z_dist is not None:
        model["z_dist"] = args.z_dist
    overrides = {k: getattr(args, k) for k in [o.name for o in OPTIONS] + ["betas", "seed", "device", "amp"]}
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
