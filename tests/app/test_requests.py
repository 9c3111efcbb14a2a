"""Tests of gan/app/requests.py."""
import pytest

from gan.app import library as model_library
from gan.app import limits as app_limits
from gan.app import runs
from gan.engine.loop import train
from tests.helpers import draw, tiny_config


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


@pytest.mark.parametrize("kw, message", [
    (dict(seed=-1), "seed"), (dict(seed=float("nan")), "seed"), (dict(seed="abc"), "seed"),
    (dict(n=0), "number of digits"), (dict(n=10**6), "number of digits"), (dict(n=2.5), "number of digits"),
    (dict(sliders=[float("inf")]), "slider 1"), (dict(sliders=[99]), "slider 1"), (dict(digit=10), "digit"),
])
def test_render_rejects_bad_values_with_a_message(library, kw, message):
    _, ex = library.get("cgan")
    args = dict(seed=1, n=4, sliders=[0.0] * 8) | kw
    with pytest.raises(ValueError, match=message):
        draw(ex, args["seed"], args["n"], args["sliders"], args.get("digit", "all"))


def test_a_train_request_with_empty_options_gets_the_presets_recipe():
    from gan.app.requests import TrainRequest
    lim = app_limits.Limits(1, 60, 100, 20, 2)
    for preset in ("cgan", "one-digit", "wgan-gp"):
        recipe = runs.app_recipe(preset)
        cfg = TrainRequest(preset=preset, length_kind="steps", length=30).to_config(lim, recipe)
        for k in ("loss", "optimizer", "lr_g", "lr_d", "d_steps", "batch_size", "label_smoothing", "ema", "digits", "model"):
            assert getattr(cfg, k) == getattr(recipe, k), (preset, k)
        assert cfg.steps == 30 and cfg.seconds == 60                 # the server's cap bounds every run
    cfg = TrainRequest(preset="cgan", lr_g="", batch_size=64, digits=["3", 5]).to_config(lim, runs.app_recipe("cgan"))
    assert cfg.lr_g == runs.app_recipe("cgan").lr_g and cfg.batch_size == 64 and cfg.digits == (3, 5)


def test_the_server_caps_digits_per_request(fake_digits):
    """Bug: the server-side cap on digits per request replaced by a constant (the slider's
    bounds hide it in the browser; the API does not)."""
    from gan.app.limits import Limits
    from gan.inference.explore import Explorer
    from gan.inference.sampling import from_trainer
    ex = Explorer(from_trainer(train(tiny_config("cgan", steps=1), data=fake_digits).trainer))
    for cap in (12, 30):
        limits = Limits(max_samples=cap, max_run_seconds=10, max_upload_mb=1, max_runs_per_session=1,
                        max_concurrent_runs=1)
        assert draw(ex, 0, cap, limits=limits).shape[0] > 0
        with pytest.raises(ValueError, match=rf"n \(number of digits\) must be a whole number in \[1, {cap}\]"):
            draw(ex, 0, cap + 1, limits=limits)
