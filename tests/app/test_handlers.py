"""Tests of gan/app/handlers.py."""
import pytest

from gan.app import library as model_library
from gan.app import limits as app_limits
from gan.app import runs


@pytest.fixture(scope="module")
def library():
    return model_library.ModelLibrary()


def test_a_length_past_the_servers_cap_is_said_not_silently_cut():
    from gan.app.handlers import length_note
    from gan.app.requests import TrainRequest
    lim = app_limits.Limits(1, 120, 100, 20, 2)
    long = TrainRequest(preset="cgan", length_kind="seconds", length=500)
    cfg = long.to_config(lim, runs.app_recipe("cgan"))
    assert cfg.seconds == 120 and "stops runs after 120 s" in length_note(long, cfg, False) and "500" in length_note(long, cfg, False)
    ok = TrainRequest(preset="cgan", length_kind="seconds", length=120)
    assert length_note(ok, ok.to_config(lim, runs.app_recipe("cgan")), False) == ""
    assert "full width" in length_note(ok, ok.to_config(lim, runs.app_recipe("cgan")), True)


@pytest.mark.parametrize("preset", ["cgan", "dcgan", "wgan-gp"])
def test_a_pretrained_start_trains_the_shipped_full_width_generator(preset, fake_digits, library, tmp_path):
    """The app's CPU recipe builds half-width networks; a pretrained start takes the shipped
    file's architecture instead of failing with a size mismatch."""
    from gan.app.handlers import Playground
    from gan.app.requests import TrainRequest
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)
    play.mnist = fake_digits
    req = TrainRequest.filled(preset, length_kind="steps", length=2, init="pretrained", batch_size=16)
    *_, last = play.train(req, "visitor")
    run = next(iter(play.session("visitor").runs.values()))
    assert run.status == "finished", run.message
    assert run.model.mcfg == library.get(preset)[0].mcfg and "full width" in last[0]


def test_without_mnist_a_visitor_gets_a_plain_sentence_and_the_log_the_details(library, tmp_path, caplog,
                                                                              monkeypatch):
    from gan.app.handlers import Playground
    from gan.app.requests import TrainRequest
    from gan.engine.data import MNISTNotFound
    play = Playground(limits=app_limits.Limits(1, 60, 100, 20, 2), library=library, tmp=tmp_path)

    def missing(self):
        raise MNISTNotFound("MNIST train split not found. Tried: /srv/secret/data (...). Fix: pass --data DIR")
    monkeypatch.setattr(Playground, "mnist", property(missing))
    with pytest.raises(ValueError) as e, caplog.at_level("WARNING", logger="gan.app"):
        next(play.train(TrainRequest.filled("cgan", length_kind="steps", length=2), "visitor"))
    assert "cannot find the MNIST digits" in str(e.value) and "/srv" not in str(e.value) and "--data" not in str(e.value)
    assert "/srv/secret/data" in caplog.text
