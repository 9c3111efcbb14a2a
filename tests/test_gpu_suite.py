"""The GPU suite's CPU smoke run: the same code path as on a GPU, end to end on tiny models,
inside its budget; and adopting its output into a weights folder is one command."""
import json
import shutil
import subprocess
import sys
import tarfile

import pytest

from gan.registry import preset_names
from tests.conftest import ROOT

BUDGET = 60


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    p = subprocess.run([sys.executable, "-m", "gan", "gpu-suite", "--out", str(out), "--device", "cpu", "--smoke",
                        "--budget-s", str(BUDGET)], cwd=ROOT, capture_output=True, text=True, timeout=BUDGET + 60)
    assert p.returncode == 0, p.stderr[-3000:]
    return out, json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_the_smoke_suite_runs_every_part_inside_its_budget(suite):
    out, report = suite
    assert report["seconds"] <= BUDGET and not report.get("cut"), report.get("cut")
    assert set(report["parts"]) == {"tests", "bench", "train", "finish"}
    assert all(part["status"] == "ok" for part in report["parts"].values()), report["parts"]
    modes = {row["asked"]: row["step_mode"] for row in report["parts"]["bench"]["engine"]}
    assert modes == {"eager": "eager", "compiled": "eager", "graph": "fused"}      # what a CPU can do of each
    assert report["parts"]["bench"]["speedup"] > 0
    assert set(report["parts"]["train"]["runs"]) == set(preset_names())
    assert (out / "report.md").read_text().startswith("# GPU suite: cpu (smoke)")


@pytest.mark.slow
def test_its_output_is_adopted_with_one_command(suite, tmp_path):
    out, report = suite
    names = [t.getnames() for t in map(tarfile.open, sorted(out.glob("bundle-*.tar")))]
    assert any("weights/metrics.json" in n for n in names)
    evaluated = [n for n, v in report["parts"]["finish"]["models"].items() if isinstance(v, dict)]
    assert evaluated, report["parts"]["finish"]
    weights = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", weights)
    before = json.loads((weights / "metrics.json").read_text())
    from gan.commands import main
    assert main(["adopt", str(out), "--weights", str(weights)]) == 0          # tiny models beat nothing shipped
    assert json.loads((weights / "metrics.json").read_text()) == before
    assert main(["adopt", str(out), "--weights", str(weights), "--force"]) == 0
    after = json.loads((weights / "metrics.json").read_text())
    name = evaluated[0]
    assert after[name]["steps"] != before[name]["steps"] and after[name]["train_command"] != before[name]["train_command"]
    assert f"| `{name}` |" in (weights / "README.md").read_text()
    from gan.sampling import load_generator
    assert load_generator(weights / f"{name}.safetensors").preset == name
