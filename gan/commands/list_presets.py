"""``python -m gan list``: the presets, the app's default marked; ``--names`` for scripts."""
from __future__ import annotations

from gan.app.runs import DEFAULT_TRAIN_PRESET
from gan.models.registry import get_preset, preset_names


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list the presets")
    p.add_argument("--names", action="store_true", help="one preset name a line, nothing else (for scripts)")
    p.set_defaults(fn=run)


def run(args) -> None:
    for name in preset_names():
        if args.names:
            print(name)
        else:
            mark = "*" if name == DEFAULT_TRAIN_PRESET else " "
            print(f"{mark} {name:12s} {get_preset(name).description}")
    if not args.names:
        print("(* the default)")
