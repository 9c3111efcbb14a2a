"""The command line, ``python -m gan <command>``: one module per subcommand, each with
``add_parser(sub)``; shared training options in ``options.py``.

Every failure a user can cause (unknown preset, impossible sizes, missing or malformed
files) ends in one ``error: ...`` line and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from gan.engine.data import MNISTNotFound

COMMANDS = ("commands.list_presets", "commands.train", "commands.sample", "commands.evaluate", "commands.classifier",
            "tools.bench", "tools.load", "commands.fit_d", "tools.gpu_suite", "commands.adopt", "commands.gallery",
            "commands.campaign", "commands.invert", "commands.trial")                   # modules of gan/ with add_parser(sub)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gan", description="MNIST GAN playground")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in COMMANDS:
        importlib.import_module(f"gan.{name}").add_parser(sub)
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
