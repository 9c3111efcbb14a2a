"""Tests of gan/commands/invert.py: ``python -m gan invert`` on a real test digit, and its refusals."""
import re

import numpy as np
import pytest
from PIL import Image

from gan.commands import main
from gan.engine.checkpoint import read_tensors
from tests.helpers import ROOT

CGAN = str(ROOT / "weights" / "cgan.safetensors")


def test_a_real_test_digit_is_found_in_the_shipped_cgan(mnist_test, tmp_path, capsys):
    digit, label = mnist_test.images[1].numpy(), int(mnist_test.labels[1])         # a 2
    Image.fromarray(255 - np.kron(digit, np.ones((5, 5), np.uint8))).save(tmp_path / "two.png")  # dark on light, 140 px
    assert main(["invert", "--weights", CGAN, "--image", str(tmp_path / "two.png"), "--out", str(tmp_path / "m.png"),
                 "--latent-out", str(tmp_path / "z.safetensors"), "--scale", "2"]) == 0
    out = capsys.readouterr().out
    distance = float(out.split(" grey levels")[0].rsplit(" ", 1)[1])
    assert distance < 40 and f"read as a {label}, drawn as class {label}" in out
    pair = np.asarray(Image.open(tmp_path / "m.png"))
    assert pair.shape == (2 * 30 + 4, 2 * 60 + 4)                                  # the drawing, then the match (2 px each)
    tensors, meta = read_tensors(tmp_path / "z.safetensors")
    assert tensors["z"].shape == (100,) and int(tensors["label"]) == label and meta["preset"] == "cgan"


@pytest.mark.parametrize("image, extra, message", [
    ("blank", [], "the image is empty"),
    ("text", [], "could not read that image file"),
    ("tiny", [], r"too small \(5x5 pixels\)"),
    ("missing", [], "no such image"),
    ("blank", ["--steps", "0"], r"--steps must be in \[1, 5000\]"),
    ("blank", ["--out", "m.jpg"], "--out must end in .png"),
    ("blank", ["--latent-out", "z.pt"], "--latent-out must end in .safetensors"),
])
def test_bad_images_and_arguments_get_one_line_errors(image, extra, message, tmp_path, capsys):
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(tmp_path / "blank.png")
    Image.fromarray(np.full((5, 5), 255, np.uint8)).save(tmp_path / "tiny.png")
    (tmp_path / "text.png").write_text("not a picture")
    argv = ["invert", "--weights", CGAN, "--image", str(tmp_path / f"{image}.png"), "--out", str(tmp_path / "m.png")]
    assert main(argv + [a if not a.startswith(("m.", "z.")) else str(tmp_path / a) for a in extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert not (tmp_path / "m.png").exists()
