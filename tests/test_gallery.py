"""Each failure in the gallery really shows on its fixed seed, and its fix really removes it
(real MNIST, the recipes' own lengths). How long each takes is a figure ``python -m gan gallery``
prints, not a test: timings belong to benchmarks."""
import pytest

from gan.gallery import FAILURES, case_config, run_case


@pytest.fixture(scope="module")
def mnist_train(mnist_dir):
    from gan.data import load_mnist
    return load_mnist("train", mnist_dir)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FAILURES])
def test_the_failure_shows_and_its_fix_removes_it(name, mnist_train):
    bad = run_case(name, data=mnist_train)
    good = run_case(name, fix=True, data=mnist_train)
    assert bad["shows_failure"], bad
    assert not good["shows_failure"], good


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
    assert "Look at:" in Playground.gallery_text("mode-collapse")
