"""Re-estimated BatchNorm statistics (gan/shipping/batchnorm.py) and the campaign keeping them only
when the evaluator scores them better."""
import json

import torch

from gan.engine.checkpoint import read_tensors
from gan.shipping.batchnorm import reestimate, write_reestimated
from tests.helpers import TINY, tiny_config
from tests.shipping.test_campaign import campaign, scores, tiny_target


def _bn_inputs(G):
    seen = []
    bn = next(m for m in G.modules() if isinstance(m, torch.nn.BatchNorm1d))
    bn.register_forward_pre_hook(lambda m, i: seen.append(i[0].detach().clone()))
    return bn, seen


def test_the_statistics_become_the_plain_average_over_every_pass():
    cfg = tiny_config("vanilla")
    mcfg = cfg.model_config()
    G = mcfg.build()[0]
    bn, seen = _bn_inputs(G)
    bn.running_mean.fill_(5.0)
    momentum = bn.momentum
    assert reestimate(G, mcfg, False, batches=3, batch=40, seed=1) == 3
    x = torch.stack(seen)                                              # (3 passes, 40, features)
    assert torch.allclose(bn.running_mean, x.mean(dim=1).mean(dim=0), atol=1e-5)
    assert torch.allclose(bn.running_var, x.var(dim=1, unbiased=True).mean(dim=0), atol=1e-5)
    assert not G.training and bn.momentum == momentum                       # eval mode, momentum as it was
    G2 = mcfg.build()[0]
    reestimate(G2, mcfg, False, batches=3, batch=40, seed=2)
    bn2 = next(m for m in G2.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert not torch.equal(bn.running_mean, bn2.running_mean)           # the seed draws the latents


def test_a_file_is_rewritten_in_its_precision_with_a_note_and_one_without_batchnorm_is_left(tmp_path, fake_digits):
    from gan.engine.loop import train
    for preset, has_bn in (("vanilla", True), ("one-digit", False)):
        trainer = train(tiny_config(preset, steps=3), data=fake_digits).trainer
        src, dst = tmp_path / f"{preset}.safetensors", tmp_path / f"{preset}-bn.safetensors"
        trainer.export_generator(src, extra={"recipe": {"command": "x"}}, half=True)
        assert write_reestimated(src, dst, batches=2, batch=32) is has_bn
        if not has_bn:
            assert not dst.exists()
            continue
        (a, meta_a), (b, meta_b) = read_tensors(src), read_tensors(dst)
        assert a.keys() == b.keys() and all(b[k].dtype == a[k].dtype for k in a)
        changed = [k for k in a if not torch.equal(a[k], b[k])]
        assert changed and all("running" in k or "num_batches" in k for k in changed)   # only the statistics
        assert meta_b["recipe"] == {"command": "x"} and "re-estimated" in meta_b["batchnorm"]
        assert {k: meta_b[k] for k in ("preset", "model_args", "step")} == {k: meta_a[k] for k in ("preset", "model_args", "step")}


def test_the_campaign_keeps_re_estimated_statistics_only_when_they_score_better(tmp_path, fake_digits):
    for second, kept in ((40.0, True), (60.0, False)):
        root = tmp_path / str(second)
        root.mkdir()
        c = campaign(root, fake_digits, scores(50.0, second), install=False, batchnorm=True,
                     targets=[tiny_target("vanilla", model=dict(TINY["vanilla"]))])
        c.turn(c.targets[0])
        e = json.loads((root / "camp" / "state.json").read_text())["vanilla"]
        assert e["best"]["fid_ratio"] == (40.0 if kept else 50.0)
        _, meta = read_tensors(root / "camp" / "vanilla" / "best.safetensors")
        assert ("batchnorm" in meta) is kept
        assert not (root / "camp" / "vanilla" / "candidate.batchnorm.safetensors").exists()
