"""``python -m gan bench ddp``: one process vs N processes (torchrun) training the same run.

Both train the same preset for the same steps on the same effective batch (N processes take
``--batch / N`` each), through the real ``python -m gan train`` entry point; the figure is
images per second of training time (what each run records in its export, start-up excluded).
One process uses every core's threads; torchrun gives each of its processes
``cores / N`` threads, so on a small CPU this shows the cost of splitting, not a gain.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from gan.engine.checkpoint import read_tensors


def _train(nproc: int, args, out: Path) -> dict:
    threads = max(1, (os.cpu_count() or 1) // nproc)
    cmd = [sys.executable] + (["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
                              if nproc > 1 else [])
    cmd += ["-m", "gan", "train", "--preset", args.preset, "--steps", str(args.steps), "--batch-size",
            str(args.batch // nproc), "--device", args.device, "--out", str(out), "--quiet",
            "--log-every", str(args.steps)] + (["--model", args.model] if args.model else [])
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(f"the {nproc}-process run failed:\n{done.stderr[-2000:]}")
    _, meta = read_tensors(out / "generator.safetensors")
    recipe, cfg = meta["recipe"], meta["train_config"]
    images = meta["step"] * cfg["d_steps"] * cfg["batch_size"] * nproc
    return {"processes": nproc, "threads_each": threads, "batch_each": cfg["batch_size"], "effective_batch":
            cfg["batch_size"] * nproc, "train_seconds": recipe["train_seconds"],
            "images_per_sec": images / recipe["train_seconds"]}


def run(args) -> list[dict]:
    if args.batch % args.processes:
        raise ValueError(f"--batch {args.batch} must divide evenly over {args.processes} processes")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [_train(n, args, Path(tmp) / f"n{n}") for n in (1, args.processes)]
    for r in rows:
        r["vs_one_process"] = r["images_per_sec"] / rows[0]["images_per_sec"]
    return rows


def add_ddp_bench(bs, emit) -> None:
    p = bs.add_parser("ddp", help="one process vs N processes (torchrun + DDP) on the same effective batch")
    p.add_argument("--preset", default="cgan")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=128, help="effective batch (split over the processes)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", help='architecture overrides as JSON, e.g. \'{"ngf": 32, "ndf": 32}\'')
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=lambda a: emit(a, run(a)))
