"""Each failure in the gallery really shows on its fixed seed, and its fix really removes it
(real MNIST, the recipes' own lengths), through the real command (``python -m gan gallery --all
[--fix] --json``) in two single-threaded processes. How long each takes is a figure the
command prints, not a test: timings belong to benchmarks."""
import json
import os

import pytest

from gan.models.gallery import FAILURES, case_config
from tests.helpers import ROOT, SHARED_MNIST, early_process, finished

ENV = os.environ | {"OMP_NUM_THREADS": "1"}


def _args(fix: bool) -> list[str]:
    return ["-m", "gan", "gallery", "--all", "--json", "--data", str(SHARED_MNIST)] + (["--fix"] if fix else [])


def start_early(items):
    """Every failure in one process, every fix in the other, from the end of collection on."""
    if not any("outcomes" in item.fixturenames for item in items):
        return
    for fix in (False, True):
        early_process(f"gallery-fix={fix}", _args(fix), cwd=ROOT, env=ENV)


@pytest.fixture(scope="module")
def outcomes(mnist_dir):
    runs = {}
    for fix in (False, True):
        code, out, err = finished(f"gallery-fix={fix}", _args(fix), timeout=600, cwd=ROOT, env=ENV)
        assert code == 0, err[-3000:]
        runs |= {(r["failure"], fix): r for r in json.loads(out)}
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FAILURES])
def test_the_failure_shows_and_its_fix_removes_it(name, outcomes):
    bad, good = outcomes[name, False], outcomes[name, True]
    assert bad.get("run") == "failure" and good.get("run") == "fix", (bad, good)
    assert bad["shows_failure"], bad
    assert not good["shows_failure"], good
    if name == "mode-collapse":                                  # a fix a learner can see: a healthy spread
        assert good["signature"]["modes"] >= 8 and good["signature"]["largest_share"] < 0.25, good


def test_the_app_starts_exactly_the_gallery_recipe():
    from gan.app.handlers import Playground
    from gan.app.limits import Limits
    from gan.app.requests import TrainRequest, fields_of
    from gan.app.runs import app_recipe
    limits = Limits(1, 120, 100, 20, 2)
    for f in FAILURES:
        for fix in (False, True):
            form = dict(zip(fields_of(TrainRequest), Playground.gallery_form(f.name, fix=fix)))
            cfg = TrainRequest(**form).to_config(limits, app_recipe(form["preset"], gpu=False))
            want = case_config(f.name, fix)
            for k in ("preset", "loss", "lr_g", "lr_d", "d_steps", "batch_size", "ema", "steps", "seed"):
                assert getattr(cfg, k) == getattr(want, k), (f.name, fix, k)
            assert form["init"] == f.init, (f.name, fix)
    assert "Look at:" in Playground.gallery_text("mode-collapse")


def test_the_apps_mode_collapse_fix_keeps_the_digits_the_failure_loses(mnist_dir, tmp_path):
    """The app runs the gallery's buttons as ordinary runs from the shipped generator: after the
    failure a learner sees a few digits and the warning, after the fix eight or more and none."""
    from gan.app.charts import TRAIN_OUTPUTS
    from gan.app.handlers import Playground
    from gan.app.limits import Limits
    from gan.app.requests import TrainRequest, fields_of
    from gan.engine.data import load_mnist
    play = Playground(limits=Limits(1, 120, 100, 20, 4), tmp=tmp_path)
    play.mnist = load_mnist("train", mnist_dir)
    modes = {}
    for fix in (False, True):
        form = dict(zip(fields_of(TrainRequest), Playground.gallery_form("mode-collapse", fix=fix)))
        *_, last = play.train(TrainRequest(**form), "learner")
        run = play.session("learner").runs[max(play.session("learner").runs)]
        assert run.status == "finished", run.message
        modes[fix] = run.quality[-1]["modes"]
        quality = last[TRAIN_OUTPUTS.index("quality")]
        assert ("mode collapse" in quality) != fix, (quality, run.quality[-1])
    assert modes[False] <= 3 and modes[True] >= 8, modes     # the app's runs tune their threads: a collapse
                                                              # may be caught mid-jump between two digits
