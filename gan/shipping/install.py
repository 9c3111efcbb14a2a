"""Putting a generator into a weights folder: the file itself (float16), its sample grid, its
probe discriminator and its metrics.json entry (which regenerates the model card's table).

``better(new, old)`` is the one rule that decides whether a new file replaces a shipped one; the
GPU suite's ``adopt``, the CPU campaign and ``eval --write-metrics`` all go through here.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from gan.inference.discriminators import export_discriminator, fit_discriminator
from gan.inference.explore import Explorer, write_shipped_directions
from gan.inference.sampling import load_generator, make_grid, to_pil
from gan.shipping.card import write_metrics

NOT_GENERATORS = ("mnist_classifier", "directions")     # the other .safetensors files in weights/


def shipped_names(weights_dir: Path) -> list[str]:
    """The generators a weights folder ships (its .safetensors files but the evaluator and the directions)."""
    return sorted(p.stem for p in Path(weights_dir).glob("*.safetensors") if p.stem not in NOT_GENERATORS)


def better(new: dict, old: dict | None) -> bool:
    """Whether metrics ``new`` beat ``old`` (lower FID / floor; for single-digit models a larger
    share of the chosen digit). Scores against another reference (a smoke run's smaller test
    sample has another real-data floor) are never comparable."""
    if not old:
        return True
    if abs(new["floor_fid"] - old["floor_fid"]) > 0.01 * old["floor_fid"]:
        return False
    if "digit_share" in new and "digit_share" in old:
        return new["digit_share"] > old["digit_share"]
    return new["fid_ratio"] < old["fid_ratio"]


def draw_samples(generator_path: Path, png: Path) -> None:
    """The card's 10x10 grid (seed 0; conditional models: a column per digit)."""
    model = load_generator(generator_path)
    png.parent.mkdir(parents=True, exist_ok=True)
    to_pil(make_grid(model.sample(0, 100, None), nrow=10).numpy()).save(png)


def fit_probe(generator_path: Path, out: Path, steps: int, data=None, device: str = "cpu") -> None:
    """The probe tab's discriminator, fitted against this generator's samples."""
    out.parent.mkdir(parents=True, exist_ok=True)
    trainer = fit_discriminator(generator_path, steps=steps, data=data, device=device)
    export_discriminator(trainer, out, generator_path.name)


def install(weights_dir: Path, name: str, generator_path: Path, entry: dict, probe_steps: int = 400,
            data=None) -> None:
    """Copy ``generator_path`` into ``weights_dir`` as ``name``, with its grid, probe D, metrics
    entry and the slider directions of every shipped model refreshed."""
    weights_dir = Path(weights_dir)
    target = weights_dir / f"{name}.safetensors"
    if Path(generator_path).resolve() != target.resolve():
        shutil.copy(generator_path, target)
    draw_samples(target, weights_dir / "samples" / f"{name}.png")
    fit_probe(target, weights_dir / "discriminators" / f"{name}.safetensors", probe_steps, data)
    write_metrics(weights_dir, name, entry)
    refresh_directions(weights_dir)


def refresh_directions(weights_dir: Path) -> None:
    """weights/directions.safetensors: every shipped model's slider directions, so that a fresh
    machine's first start reads them instead of fitting (~6 s on a 2-core CPU). Run after the
    weights change (``install`` does); a stale entry is only ignored (tests/evaluation/test_disk_cache.py)."""
    weights_dir = Path(weights_dir)
    explorers = {name: Explorer(load_generator(weights_dir / f"{name}.safetensors"), cache=True)
                 for name in shipped_names(weights_dir)}
    write_shipped_directions(explorers, weights_dir / "directions.safetensors")
