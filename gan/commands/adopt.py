"""``python -m gan adopt DIR``: take a GPU suite's output into weights/. Each generator that
beats the shipped one (lower FID / floor; for single-digit models a larger share of the chosen
digit) replaces it with its probe discriminator and sample grid; its metrics.json entry is
merged and the model card's table regenerated. ``--force`` takes every file; ``--dry-run``
only says what would change."""
from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from gan.paths import WEIGHTS_DIR
from gan.shipping.card import write_metrics
from gan.shipping.install import better, refresh_directions


def add_parser(sub) -> None:
    p = sub.add_parser("adopt", help="take a gpu-suite output's better generators into weights/")
    p.add_argument("dir", help="the suite's --out folder (bundle-N.tar) or an unpacked folder with weights/")
    p.add_argument("--weights", default=str(WEIGHTS_DIR), help="the weights folder to update (default: this repository's)")
    p.add_argument("--force", action="store_true", help="take every generator, better or not")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(fn=run)


def run(args) -> None:
    src, dst = Path(args.dir), Path(args.weights)
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(src, Path(tmp))
        suite_metrics = json.loads((root / "weights" / "metrics.json").read_text())
        shipped = json.loads((dst / "metrics.json").read_text()) if (dst / "metrics.json").is_file() else {}
        adopted = False
        for name, entry in suite_metrics.items():
            take = args.force or better(entry, shipped.get(name))
            print(f"{name}: FID {entry['fid_ratio']:.1f}x floor, {entry['modes']} modes "
                  f"(shipped: {shipped[name]['fid_ratio']:.1f}x, {shipped[name]['modes']} modes)" if name in shipped else
                  f"{name}: FID {entry['fid_ratio']:.1f}x floor, {entry['modes']} modes (nothing shipped)",
                  "-> adopt" if take else "-> keep the shipped file")
            if not take or args.dry_run:
                continue
            for sub, suffix in (("", ".safetensors"), ("discriminators", ".safetensors"), ("samples", ".png")):
                f = root / "weights" / sub / f"{name}{suffix}"
                if f.is_file():
                    (dst / sub).mkdir(parents=True, exist_ok=True)
                    shutil.copy(f, dst / sub / f.name)
            write_metrics(dst, name, entry)
            adopted = True
        if adopted:
            refresh_directions(dst)                     # the slider fits that come with the new files


def unpack(src: Path, tmp: Path) -> Path:
    """A folder with weights/ in it: ``src`` itself, or its bundle-N.tar files extracted safely."""
    if (src / "weights" / "metrics.json").is_file():
        return src
    bundles = sorted(src.glob("bundle-*.tar"))
    if not bundles:
        raise FileNotFoundError(f"{src}: no bundle-N.tar and no weights/metrics.json")
    for b in bundles:
        with tarfile.open(b) as t:
            t.extractall(tmp, filter="data")             # no absolute paths, links or '..' out of tmp
    return tmp
