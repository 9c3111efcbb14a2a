"""``python -m gan bench {train,baseline,ttq,latency,ui,ddp}``: the project's performance numbers.

train     images/s of the real engine (after warm-up, median of repeats)
baseline  the same model, loss and batch trained the conventional way (torchvision MNIST
          dataset with per-image ToTensor/Normalize, a DataLoader, a Python loop with
          .item() logging), so the engine's speed-up is a ratio measured in one run
ttq       wall-clock training seconds until the evaluator's FID reaches R x the floor
latency   render one digit, a 64-digit grid, a slider move, a 10-frame interpolation; find a digit,
          its nearest training digits, the latent map
ui        what the streamed app adds to a training run (vs the engine alone)
ddp       one process vs N torchrun processes on the same effective batch (bench_ddp.py)
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gan.commands.options import add_amp_option
from gan.engine.config import TrainConfig
from gan.engine.data import FILES, candidate_dirs, find_idx_file, load_mnist, read_maybe_gz
from gan.engine.device import resolve_device
from gan.engine.losses import get_loss
from gan.engine.optim import make_optimizer
from gan.engine.trainer import Trainer
from gan.tools.bench_ddp import add_ddp_bench
from gan.tools.bench_quality import add_quality_benches


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def bench_engine(preset: str, device: str = "auto", batch: int | None = None, seconds: float = 3.0,
                 repeats: int = 5, warmup: int = 30, compile: bool | None = None, data=None, **overrides) -> dict:
    import torch._dynamo

    # compiled code is cached per forward() code object, so every earlier configuration's networks
    # count towards dynamo's recompile limit: past it the "compiled" rows silently ran eager (H200 run 1)
    torch._dynamo.reset()
    cfg = TrainConfig.for_preset(preset, steps=10**9, device=device, batch_size=batch, compile=compile, **overrides)
    trainer = Trainer(cfg, data if data is not None else load_mnist("train"))
    for _ in range(warmup):
        trainer.train_step()
    _sync(trainer.device)
    rates = []
    for _ in range(repeats):
        d0, t0 = trainer.d_step_count, time.perf_counter()
        while time.perf_counter() - t0 < seconds / repeats:
            for _ in range(10):
                trainer.train_step()
        trainer.read_stats()             # the host read the loop does once per log interval
        _sync(trainer.device)
        rates.append((trainer.d_step_count - d0) * cfg.batch_size / (time.perf_counter() - t0))
    return {"what": "engine", "preset": preset, "device": str(trainer.device), "batch": cfg.batch_size,
            "amp": trainer.amp, "compiled": trainer.compiled, "step_mode": trainer.step_mode,
            "step_note": trainer.step_note,
            "images_per_sec": statistics.median(rates), "repeats": [round(r) for r in rates]}


def _torchvision_root(data_dir=None) -> str:
    """A torchvision MNIST folder (MNIST/raw, uncompressed) built from the local IDX files."""
    root = Path(tempfile.mkdtemp(prefix="mnist-tv-"))
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    dirs = candidate_dirs(data_dir)
    for stem in FILES["train"] + FILES["test"]:
        for d in dirs:
            p = find_idx_file(Path(d).expanduser(), stem)
            if p is not None:
                (raw / stem).write_bytes(read_maybe_gz(p))
                break
        else:
            raise FileNotFoundError(f"{stem} not found for the torchvision baseline")
    return str(root)


def bench_baseline(preset: str, device: str = "auto", batch: int | None = None, seconds: float = 3.0,
                   workers: int = 2, data_dir=None, model: dict | None = None) -> dict:
    """The conventional tutorial loop, same networks / loss / optimizer / batch, eager fp32."""
    from torchvision import datasets, transforms

    cfg = TrainConfig.for_preset(preset, steps=1, batch_size=batch, model=model)
    dev = resolve_device(device)
    mcfg = cfg.model_config()
    G, D = (m.to(dev) for m in mcfg.build())
    norm = transforms.Normalize([0.5], [0.5]) if mcfg.output == "tanh" else transforms.Lambda(lambda x: x)
    ds = datasets.MNIST(_torchvision_root(data_dir), train=True, download=False,
                        transform=transforms.Compose([transforms.ToTensor(), norm]))
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=workers > 0)
    opt_g, opt_d = make_optimizer(cfg, G.parameters(), cfg.lr_g), make_optimizer(cfg, D.parameters(), cfg.lr_d)   # the preset's optimizer
    images, t0, log = 0, None, []
    while True:
        for x, y in loader:
            x, y = x.to(dev), y.to(dev)
            yy = y if mcfg.num_classes else None
            z = torch.randn(x.shape[0], mcfg.z_dim, device=dev)
            fake = G(z, yy)
            d_loss = get_loss(cfg.loss).d_loss(D(x, yy), D(fake.detach(), yy))
            opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            g_loss = get_loss(cfg.loss).g_loss(D(fake, yy))
            opt_g.zero_grad(); g_loss.backward(); opt_g.step()
            log.append((d_loss.item(), g_loss.item()))        # what tutorials print every step
            if t0 is None and len(log) == 20:
                _sync(dev)
                t0 = time.perf_counter()
            elif t0 is not None:
                images += x.shape[0]
                if time.perf_counter() - t0 >= seconds:
                    return {"what": "baseline", "preset": preset, "device": str(dev), "batch": cfg.batch_size,
                            "workers": workers, "images_per_sec": images / (time.perf_counter() - t0)}


def print_table(rows: list[dict], keys: list[str]) -> None:
    print(" | ".join(f"{k:>14s}" for k in keys))
    for r in rows:
        print(" | ".join(f"{(f'{r[k]:,.1f}' if isinstance(r.get(k), float) else str(r.get(k, ''))):>14s}" for k in keys))


def _engine(args) -> dict:
    return bench_engine(args.preset, args.device, args.batch, args.seconds,
                        compile=False if args.no_compile else None, amp=args.amp)


def run_train(args) -> list[dict]:
    return [_engine(args)]


def run_baseline(args) -> list[dict]:
    eng = _engine(args)
    base = bench_baseline(args.preset, args.device, args.batch, args.seconds, workers=args.workers)
    eng["speedup"] = base["speedup"] = eng["images_per_sec"] / base["images_per_sec"]
    return [eng, base]


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="benchmarks (print a table, or --json)")
    bs = b.add_subparsers(dest="bench", required=True)
    for name, fn in (("train", run_train), ("baseline", run_baseline)):
        p = bs.add_parser(name)
        p.add_argument("--preset", default="dcgan")
        p.add_argument("--device", default="auto")
        p.add_argument("--batch", type=int)
        p.add_argument("--seconds", type=float, default=5.0)
        p.add_argument("--no-compile", action="store_true")
        add_amp_option(p)
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--json", action="store_true")
        p.set_defaults(fn=lambda a, fn=fn: _emit(a, fn(a)))
    add_quality_benches(bs, _emit)
    add_ddp_bench(bs, _emit)


def _emit(args, rows: list[dict]) -> None:
    if args.json:
        print(json.dumps(rows))
    else:
        keys = [k for k in rows[0] if not isinstance(rows[0][k], (list, dict))]
        print_table(rows, keys)
