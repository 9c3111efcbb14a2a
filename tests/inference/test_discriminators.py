"""Discriminators fitted to shipped generators (the probe's D for pretrained models)."""
import pytest
import torch

from gan.app import library as model_library
from gan.app import pictures
from gan.engine.loop import train
from gan.inference.discriminators import export_discriminator, fit_discriminator, load_discriminator
from gan.inference.sampling import load_generator
from tests.helpers import ROOT, tiny_config


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory, fake_digits):
    path = tmp_path_factory.mktemp("g") / "tiny.safetensors"
    train(tiny_config("dcgan", steps=30), data=fake_digits).trainer.export_generator(path)
    return path


def test_a_fitted_discriminator_tells_real_from_the_frozen_generator(tiny_generator, fake_digits, tmp_path):
    g_before = {k: v.clone() for k, v in load_generator(tiny_generator).G.state_dict().items()}
    trainer = fit_discriminator(tiny_generator, steps=150, data=fake_digits)
    assert all(torch.equal(g_before[k], v) for k, v in trainer.G.state_dict().items())   # G stayed frozen
    out = tmp_path / "d.safetensors"
    export_discriminator(trainer, out, "tiny.safetensors")
    D, meta = load_discriminator(out)
    assert meta["fitted_against"] == "tiny.safetensors" and meta["steps"] == 150 and meta["loss"] == "non-saturating"
    real = fake_digits.images[:64].numpy()
    fake = load_generator(tiny_generator).sample(0, 64)
    real_scores = [pictures.probe(x, D)["real_score"] for x in real[:16]]
    fake_scores = [pictures.probe(x, D)["real_score"] for x in fake[:16]]
    assert sum(real_scores) / 16 > sum(fake_scores) / 16 + 0.2


def test_a_generator_file_is_not_a_discriminator(tiny_generator):
    with pytest.raises(ValueError, match="do not match"):
        load_discriminator(tiny_generator)


def test_shipped_models_come_with_probe_discriminators():
    library = model_library.ModelLibrary()
    for name in library.names():
        fitted = library.discriminator(name)
        assert fitted is not None, f"weights/discriminators/{name}.safetensors is missing (python -m gan fit-d)"
        D, meta = fitted
        assert meta["preset"] == name and meta["fitted_against"] == f"{name}.safetensors"
    assert library.discriminator("no-such-model") is None
    assert (ROOT / "weights" / "discriminators").is_dir()


def test_the_fit_d_command_fits_for_the_steps_given_into_the_probes_folder(tiny_generator, mnist_dir, tmp_path, capsys):
    """`python -m gan fit-d`: 1,000 steps unless told, the file beside the generator's folder in
    discriminators/ unless --out says where, a step count out of range refused before any work."""
    import shutil

    from gan.commands import build_parser, main
    assert build_parser().parse_args(["fit-d", "--weights", "g.safetensors"]).steps == 1000
    weights = tmp_path / "weights" / "tiny.safetensors"
    weights.parent.mkdir()
    shutil.copy(tiny_generator, weights)
    assert main(["fit-d", "--weights", str(weights), "--steps", "3", "--data", str(mnist_dir)]) == 0
    out = tmp_path / "weights" / "discriminators" / "tiny.safetensors"
    _, meta = load_discriminator(out)
    assert meta["steps"] == 3 and meta["fitted_against"] == "tiny.safetensors" and f"wrote {out}" in capsys.readouterr().out
    assert main(["fit-d", "--weights", str(weights), "--steps", "2", "--out", str(tmp_path / "d.safetensors"),
                 "--data", str(mnist_dir)]) == 0
    assert load_discriminator(tmp_path / "d.safetensors")[1]["steps"] == 2
    for bad in ("0", "1000001"):
        assert main(["fit-d", "--weights", str(weights), "--steps", bad, "--out", str(tmp_path / "x.safetensors")]) == 2
        assert f"--steps must be in [1, 1000000], got {bad}" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()
