"""The GPU suite's CPU smoke run: the same code path as on a GPU, end to end on tiny models,
inside its budget; and adopting its output into a weights folder is one command."""
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from gan.models.registry import preset_names
from tests.helpers import ROOT, early_process, finished

BUDGET = 600      # the smoke run's work is fixed (tiny models, 2 s runs): ~40 s of a quiet 2-core machine, and it
                  # ends when done; it starts when collection ends as idle work (tests.helpers.early_process)
                  # and may wait minutes for idle cores before a test waits on it: the budget covers that
# three presets run end to end (each preset's own GPU command is checked below without a process)
SMOKE_PRESETS = ("dcgan", "cgan", "one-digit")
OUT = Path(tempfile.mkdtemp(prefix="gpu-suite-smoke-"))
ARGS = ["-m", "gan", "gpu-suite", "--out", str(OUT), "--device", "cpu", "--smoke", "--budget-s", str(BUDGET),
        "--presets", ",".join(SMOKE_PRESETS)]


def start_early(items):
    if any("suite" in item.fixturenames for item in items):
        early_process("gpu-suite-smoke", ARGS, cwd=ROOT)


@pytest.fixture(scope="module")
def suite():
    code, _, err = finished("gpu-suite-smoke", ARGS, timeout=BUDGET + 60, cwd=ROOT)
    assert code == 0, err[-3000:]
    yield OUT, json.loads((OUT / "report.json").read_text())
    shutil.rmtree(OUT, ignore_errors=True)


@pytest.mark.slow
def test_the_smoke_suite_runs_every_part_inside_its_budget(suite):
    out, report = suite
    assert report["seconds"] <= BUDGET and not report.get("cut"), report.get("cut")
    assert set(report["parts"]) == {"tests", "bench", "train", "finish"}
    assert all(part["status"] == "ok" for part in report["parts"].values()), report["parts"]
    modes = {row["asked"]: row["step_mode"] for row in report["parts"]["bench"]["engine"]}
    assert modes == {"eager": "eager", "compiled": "eager", "graph": "fused"}      # what a CPU can do of each
    assert report["parts"]["bench"]["speedup"] > 0
    assert set(report["parts"]["train"]["runs"]) == set(SMOKE_PRESETS)
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
    from gan.inference.sampling import load_generator
    adopted = load_generator(weights / f"{name}.safetensors")
    assert adopted.preset == name
    from gan.inference.explore import Explorer, shipped_directions  # its slider fit ships with it
    assert shipped_directions(weights / "directions.safetensors", Explorer(adopted).cache_key()) is not None


def test_a_slot_is_the_longest_equal_share_that_ends_in_time():
    from gan.tools.gpu_suite import slot_seconds
    assert slot_seconds(300, [0, 0], waiting=8, allowance=25) == pytest.approx(300 / 4 - 25)
    assert slot_seconds(300, [0, 0], waiting=1, allowance=25) == pytest.approx(275)
    assert slot_seconds(300, [0, 150], waiting=3, allowance=25) == pytest.approx(125)    # two here, one there
    assert slot_seconds(300, [0, 0], waiting=7, allowance=25) == pytest.approx(300 / 4 - 25)  # 4 rounds either way
    assert slot_seconds(40, [0, 0], waiting=3, allowance=25) is None
    assert slot_seconds(300, [290, 295], waiting=1, allowance=25) is None                  # the slots are spent


@pytest.mark.parametrize("seed", range(5))
def test_scheduled_runs_end_inside_the_part_and_early_stops_hand_their_time_on(seed):
    """The suite's scheduling, simulated: runs start on the slot free first; some stop at their goal
    early. Every run ends by the deadline, and no run after an early stop gets less than before it."""
    import random

    from gan.tools.gpu_suite import slot_seconds
    rnd, limit, conc, allowance, n = random.Random(seed), 300.0, 2, 25.0, 8
    slots = [0.0] * conc                         # when each slot frees (actually)
    planned = [0.0] * conc                       # when each slot frees (as planned at its start)
    given = []
    for i in range(n):
        k = min(range(conc), key=slots.__getitem__)
        now = slots[k]
        free = [now if j == k or slots[j] <= now else planned[j] for j in range(conc)]
        s = slot_seconds(limit, free, n - i, allowance)
        assert s is not None and now + s + allowance <= limit + 1e-6
        used = s * rnd.choice([0.1, 1.0])                     # a goal reached early, or the whole slot
        slots[k], planned[k] = now + used + allowance, now + s + allowance
        given.append(s)
    assert all(b >= a - 1e-6 for a, b in zip(given, given[1:])), given


@pytest.mark.parametrize("preset", preset_names())
def test_every_presets_gpu_command_is_a_valid_run_of_its_gpu_recipe(preset, tmp_path):
    """What the suite would start on a GPU, parsed as the train command parses it."""
    from gan.commands import build_parser
    from gan.commands.options import config_from_args
    from gan.models.registry import get_preset
    from gan.tools.gpu_suite import VARIANTS, train_command
    runs = [(preset, [])] + [(p, extra) for p, extra in VARIANTS.values() if p == preset]
    for name, extra in runs:
        cmd = train_command(name, 123, "cuda", False, tmp_path) + extra
        args = build_parser().parse_args(cmd[3:])
        cfg = config_from_args(args)
        assert cfg.preset == preset and cfg.seconds == 123 and cfg.compile is False and args.stop_at_goal == 30
        for k, v in get_preset(preset).gpu_recipe.items():
            assert getattr(cfg, k) == (tuple(v) if isinstance(v, list) else v), (preset, k)
        cfg.device = "cpu"
        cfg.validate()


def test_the_bundles_hold_the_weights_and_logs_only_each_under_the_size_limit(tmp_path, monkeypatch):
    from gan.tools import gpu_suite
    work, out = tmp_path / "work", tmp_path / "out"
    for rel, size in (("weights/a.safetensors", 600), ("weights/sub/b.json", 300), ("logs/train.log", 500),
                      ("scratch/big.bin", 900), ("report.md", 10)):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(b"x" * size)
    out.mkdir()
    monkeypatch.setattr(gpu_suite, "TAR_LIMIT", 1000)
    bundles = gpu_suite.pack(work, out)
    names = [tarfile.open(out / b).getnames() for b in bundles]
    assert bundles == ["bundle-1.tar", "bundle-2.tar"]
    assert names == [["logs/train.log"], ["weights/a.safetensors", "weights/sub/b.json"]]   # sorted, split at 1,000 bytes
