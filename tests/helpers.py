"""What the test modules share, in one importable module: the repository's paths, tiny models
and configs, fake MNIST, a registered-for-a-block loss, the app's render path, Chromium, loopback
ports and clients, and long runs started early in processes of their own."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

import numpy as np
import torch

from gan.app import pictures
from gan.app.limits import Limits
from gan.app.requests import SLIDER_FIELDS, RenderRequest
from gan.engine import losses
from gan.engine.config import TrainConfig
from gan.engine.data import Digits
from gan.models.registry import get_preset, preset_names

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = Path(os.environ.get("GAN_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))  # (mutmut runs from a copy)


def _tiny_models() -> dict:
    return {name: get_preset(name).tiny_model for name in preset_names()}


TINY = _tiny_models()


def tiny_config(preset, **kw):
    kw.setdefault("steps", 3)
    kw.setdefault("batch_size", 16)
    kw.setdefault("log_every", 1)
    kw.setdefault("device", "cpu")
    if preset == "cs231n":
        kw.setdefault("d_pretrain_steps", 2)
    return TrainConfig.for_preset(preset, model=dict(TINY[preset]), **kw)


def synthetic_digits(n: int = 512, seed: int = 0) -> Digits:
    """Tiny fake MNIST for fast tests: ten fixed blurry stroke prototypes plus noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    protos = []
    for k in range(10):
        angle = torch.tensor(k * 0.314)
        cx, cy, r = 14 + 3 * torch.cos(angle), 14 + 3 * torch.sin(angle), 4 + k * 0.5
        ring = torch.exp(-((((xx - cx) ** 2 + (yy - cy) ** 2).sqrt() - r) ** 2) / 2)
        bar = torch.exp(-((xx - 14 - (k - 5)) ** 2) / 2) * (yy > 6) * (yy < 22)
        protos.append((ring * (k % 2 == 0) + bar * (k % 3 != 0) + 0.3 * ring).clamp(0, 1))
    protos = torch.stack(protos)
    labels = torch.arange(n) % 10
    imgs = protos[labels] + 0.15 * torch.randn(n, 28, 28, generator=g)
    return Digits((imgs.clamp(0, 1) * 255).round().to(torch.uint8), labels.long(), "synthetic")


class _EncodingG(torch.nn.Module):
    """(N, z_dim) latents [+ (N,) labels] -> (N, 1, 28, 28) in [-1, 1]: every latent draws its own
    high-contrast pattern and the label lights pixel (0, label) of the top row, so a test can tell
    whose rows it got (a briefly trained tiny G draws the same flat grey for every input)."""

    def __init__(self, z_dim: int):
        super().__init__()
        self.proj = torch.nn.Linear(z_dim, 28 * 28, bias=False)
        torch.nn.init.normal_(self.proj.weight, std=3.0, generator=torch.Generator().manual_seed(7))

    def forward(self, z, labels=None):                  # (N, z_dim) [, (N,)]
        x = torch.tanh(self.proj(z)).view(-1, 1, 28, 28)               # (N, 1, 28, 28)
        if labels is not None:
            top = torch.nn.functional.one_hot(labels, 28).float() * 2 - 1      # (N, 28): +1 at the label
            x = torch.cat([top[:, None, None, :], x[:, :, 1:]], dim=2)
        return x


def encoding_model(preset: str = "cgan"):
    """A GeneratorModel of ``preset``'s kind whose output tells its inputs apart (``_EncodingG``)."""
    from gan.inference.sampling import GeneratorModel
    mcfg = get_preset(preset).model_config(**TINY[preset])
    return GeneratorModel(_EncodingG(mcfg.z_dim).eval().requires_grad_(False), mcfg, preset, {"step": 0})


def label_of(image: np.ndarray) -> int:
    """The label an ``encoding_model`` drew into a (28, 28) uint8 image."""
    return int(image[0, :10].argmax())


@contextlib.contextmanager
def registered_loss(*args, **kwargs):
    """A ``gan.engine.losses.Loss(*args, **kwargs)`` registered for the block's duration, then removed."""
    rec = losses.register_loss(losses.Loss(*args, **kwargs))
    try:
        yield rec
    finally:
        del losses.LOSSES[rec.name]


def draw(explorer, seed, n, sliders=(), digit="all", raw=False, limits: Limits | None = None) -> np.ndarray:
    """The grid the app renders for these values, checked as the app checks a visitor's (sliders
    beyond those given stay at 0)."""
    req = RenderRequest(seed=seed, n=n, digit=digit, raw=raw, **dict(zip(SLIDER_FIELDS, sliders)))
    return pictures.render(explorer, req.parse(limits or Limits.from_env()))


@contextlib.contextmanager
def open_browser(chromium):
    """Debian's Chromium, headless, closed however the test ends."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def draw_stroke(page, canvas) -> None:
    """A vertical stroke down the middle of a Gradio Sketchpad (a "1"), as a visitor's mouse draws it."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
    page.mouse.move(x, y)
    page.mouse.down()                                        # no tool picked first: the brush is in hand
    for i in range(1, 11):
        page.mouse.move(x, y + i * box["height"] * 0.06)
    page.mouse.up()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def release(*clients) -> None:
    """Close gradio clients without waiting on them: ``Client.close()`` joins its heartbeat thread
    for up to 1 s, and that thread only sees the close at the server's next heartbeat line (1 s
    per test, ~50 s a suite). The close is started; each thread ends at that line by itself."""
    for c in clients:
        threading.Thread(target=c.close, name="close-client", daemon=True).start()


def new_client(server):
    from gradio_client import Client
    return Client(server[1], verbose=False)


# Long runs in their own processes whose tests only read their verdict start when collection ends,
# scheduled as idle work (SCHED_IDLE; nice 19 without chrt): they use what the in-process tests
# leave idle (server and browser waits) and yield the CPU to everything else, the app's niced
# training threads included. A module declares them with ``start_early()``.
EARLY: dict[str, tuple[subprocess.Popen, IO[str], IO[str]]] = {}


def early_process(key: str, args: list[str], **kwargs) -> tuple[subprocess.Popen, IO[str], IO[str]]:
    """The process started under ``key`` (started now if it was not yet), with files for its output."""
    if key not in EARLY:
        nice = ["chrt", "--idle", "0"] if shutil.which("chrt") else ["nice", "-n", "19"] if shutil.which("nice") else []
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")   # pipes nobody reads could fill
        EARLY[key] = subprocess.Popen(nice + [sys.executable, *args], stdout=out, stderr=err, text=True, **kwargs), out, err
    return EARLY[key]


def finished(key: str, args: list[str], timeout: float, **kwargs) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of that process, started now if collection did not start it.
    A test waiting on it has nothing else to do, so it stops being idle work from here on: beside
    busy processes an idle one would otherwise never get a core."""
    proc, out, err = early_process(key, args, **kwargs)
    hurry(proc.pid)
    proc.wait(timeout)
    out.seek(0), err.seek(0)
    return proc.returncode, out.read(), err.read()


def hurry(pid: int) -> None:
    """Every thread of ``pid`` back to the normal scheduling class at nice 0 (where permitted)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return
    for tid in tids:
        try:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, tid, 0)
        except (AttributeError, OSError):
            pass
