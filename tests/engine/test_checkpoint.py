"""Reading weight files: well-formed safetensors load, pickles and zips are refused unread."""
import json
import pickle
import zipfile

import pytest
import torch

from gan.engine.checkpoint import read_tensors, save_tensors
from tests.helpers import tiny_config


def test_a_header_length_starting_with_the_pickle_byte_still_loads(tmp_path):
    """1 in 256 valid files have a header length whose low byte is 0x80, the pickle opcode."""
    path = tmp_path / "w.safetensors"
    for pad in range(0, 512, 8):
        save_tensors(path, {"w": torch.ones(2)}, {"note": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a header length of 128 mod 256")
    tensors, meta = read_tensors(path)
    assert torch.equal(tensors["w"], torch.ones(2)) and meta["note"].startswith("x")


@pytest.mark.parametrize("kind", ["pickle", "zip"])
def test_pickles_and_torch_save_zips_are_refused(tmp_path, kind):
    path = tmp_path / "evil.safetensors"
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", pickle.dumps({"w": [1.0]}))
    with pytest.raises(ValueError, match="pickle / torch.save"):
        read_tensors(path)


def test_a_generator_export_records_what_rebuilds_and_describes_it(fake_digits, tmp_path):
    from gan.engine.checkpoint import GENERATOR_FORMAT
    from gan.engine.loop import train
    from tests.helpers import tiny_config
    t = train(tiny_config("cgan", steps=3), data=fake_digits).trainer
    t.export_generator(tmp_path / "g.safetensors", extra={"recipe": {"command": "x"}})
    tensors, meta = read_tensors(tmp_path / "g.safetensors")
    assert meta["format"] == GENERATOR_FORMAT and meta["preset"] == "cgan" and meta["step"] == 3
    assert meta["model_args"] == t.mcfg.to_dict()
    assert meta["train_config"] == json.loads(json.dumps(t.cfg.to_dict()))
    assert meta["recipe"] == {"command": "x"} and meta["ema"] is (t.G_ema is not None)
    assert set(tensors) == {f"G.{k}" for k in t.G.state_dict()}
    for k, v in t.sampler.state_dict().items():                  # the exact weights: float32 unless asked
        assert tensors[f"G.{k}"].dtype == v.dtype and torch.equal(tensors[f"G.{k}"], v)
    t.export_generator(tmp_path / "half.safetensors", half=True)   # half: floats in float16, counters kept
    halves, _ = read_tensors(tmp_path / "half.safetensors")
    for k, v in t.sampler.state_dict().items():
        assert halves[f"G.{k}"].dtype == (torch.float16 if v.is_floating_point() else v.dtype), k


def test_a_checkpoint_saves_and_resumes_with_learning_rates_held_as_device_tensors(fake_digits, tmp_path):
    """A CUDA-graph step keeps each optimizer's lr (and a capturable Adam's betas) as tensors, so the
    graph reads changes in place; the checkpoint's JSON must hold their values, and a resume gets them."""
    from gan.engine.loop import resume_trainer
    from gan.engine.trainer import Trainer
    cfg = tiny_config("dcgan", device="cpu")
    t = Trainer(cfg, fake_digits)
    t.train_step()
    for opt, lr in ((t.opt_g, 3e-4), (t.opt_d, 5e-4)):
        for g in opt.param_groups:
            g["lr"], g["betas"] = torch.tensor(lr), (torch.tensor(0.5), torch.tensor(0.999))
    t.save(tmp_path / "ck.safetensors")
    _, meta = read_tensors(tmp_path / "ck.safetensors")
    assert [meta[o]["param_groups"][0]["lr"] for o in ("opt_g", "opt_d")] == pytest.approx([3e-4, 5e-4])
    assert meta["opt_g"]["param_groups"][0]["betas"] == pytest.approx([0.5, 0.999])
    r = resume_trainer(cfg, tmp_path / "ck.safetensors", fake_digits)      # the run's config sets the lr
    assert r.step == 1 and r.lr == pytest.approx((cfg.lr_g, cfg.lr_d))
    assert tuple(r.opt_g.param_groups[0]["betas"]) == pytest.approx((0.5, 0.999))
    r.train_step()
    assert r.step == 2


def test_a_write_makes_missing_folders_keeps_its_temporary_beside_the_file_and_leaves_it_readable(tmp_path, monkeypatch):
    """``--out runs/a/b`` works without the folders; the temporary file sits in the target's folder
    (so the final rename is atomic and never crosses file systems), and the result is 0644."""
    import stat
    import tempfile

    from gan.engine.checkpoint import atomic_write_bytes
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-system-temp-here"))
    target = tmp_path / "runs" / "a" / "b" / "weights.safetensors"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second" and list(target.parent.iterdir()) == [target]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    """A writer killed mid-write (here: it exits in fsync, as SIGKILL would leave it) leaves only
    its temporary file, never a half target; the next write of that file removes the leftover."""
    import os
    import subprocess
    import sys

    from gan.engine.checkpoint import atomic_write_bytes
    from tests.helpers import ROOT
    target = tmp_path / "checkpoint.safetensors"
    code = ("import os, sys\nfrom gan.engine import checkpoint\nos.fsync = lambda fd: os._exit(3)\n"
            "checkpoint.atomic_write_bytes(sys.argv[1], b'half')")
    p = subprocess.run([sys.executable, "-c", code, str(target)], cwd=ROOT, timeout=120,
                       env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert p.returncode == 3
    assert len(list(tmp_path.iterdir())) == 1 and not target.exists()
    atomic_write_bytes(target, b"whole")
    assert list(tmp_path.iterdir()) == [target] and target.read_bytes() == b"whole"
