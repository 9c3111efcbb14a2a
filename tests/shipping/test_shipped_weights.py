"""The shipped generators, metrics.json (what the app shows) and the model card agree."""
import json
import re

import pytest

from gan.engine.checkpoint import read_tensors
from gan.models.registry import preset_names
from tests.helpers import ROOT

WEIGHTS = ROOT / "weights"
METRICS = json.loads((WEIGHTS / "metrics.json").read_text())
CARD = (WEIGHTS / "README.md").read_text()


@pytest.mark.parametrize("preset", preset_names())
def test_metrics_and_card_describe_the_shipped_file(preset):
    tensors, meta = read_tensors(WEIGHTS / f"{preset}.safetensors")
    m = METRICS[preset]
    assert meta["preset"] == preset and meta["step"] == m["steps"] and meta.get("ema", False) == m["ema"]
    assert f"--steps {m['steps']}" in m["train_command"] or "--seconds" in m["train_command"]
    row = next(line for line in CARD.splitlines() if line.startswith(f"| `{preset}`"))
    assert f"**{m['fid_ratio']:.1f}x**" in row and f"| {m['modes']} |" in row, row
    assert f"| {m['steps']} |" in row and re.search(rf"\| {m['classifier_score']:.2f} \|", row), row
