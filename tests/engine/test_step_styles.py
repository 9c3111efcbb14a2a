"""The step styles the classic recipes differ in (gan/engine/trainer.py's ``train_step``): G steps per D
step (DCGAN-tensorflow), G's step first (PyTorch-GAN), D's fakes drawn as Keras' ``predict`` draws
them, and Keras' adversarial model that also steps D."""
import pytest
import torch

from gan.engine.distributed import World
from gan.engine.trainer import Trainer
from tests.helpers import tiny_config


def _order(trainer) -> list[str]:
    """The optimizer steps of the trainer, in the order they run: "d" and "g"."""
    seen = []
    trainer.opt_d.register_step_post_hook(lambda *a: seen.append("d"))
    trainer.opt_g.register_step_post_hook(lambda *a: seen.append("g"))
    return seen


@pytest.mark.parametrize("g_steps", [1, 2, 3])
def test_g_steps_runs_that_many_generator_steps_after_each_d_step(fake_digits, g_steps):
    trainer = Trainer(tiny_config("dcgan", g_steps=g_steps), fake_digits)
    order = _order(trainer)
    trainer.train_step()
    trainer.train_step()
    assert order == (["d"] + ["g"] * g_steps) * 2
    assert trainer.step == 2 * g_steps and trainer.d_step_count == 2


def test_g_first_steps_g_then_d_on_the_same_fakes_made_before_gs_update(fake_digits):
    trainer = Trainer(tiny_config("dcgan", step_order="g-first"), fake_digits)
    order = _order(trainer)
    made, seen_by_d = [], []
    trainer.G.register_forward_hook(lambda m, i, out: made.append(out.detach().clone()) and None)
    trainer.D.register_forward_pre_hook(lambda m, i: seen_by_d.append(i[0].detach().clone()))
    trainer.train_step()
    assert order == ["g", "d"] and trainer.step == 1 and trainer.d_step_count == 1
    assert len(made) == 1                                          # one G forward serves both steps
    # D sees: the fakes in G's step, then real, then the same fakes in its own step
    assert torch.equal(seen_by_d[0], made[0]) and torch.equal(seen_by_d[-1], made[0])
    assert not torch.equal(seen_by_d[1], made[0])


def test_d_first_is_the_default_order(fake_digits):
    trainer = Trainer(tiny_config("dcgan"), fake_digits)
    order = _order(trainer)
    trainer.train_step()
    assert order == ["d", "g"]


def _record_g(trainer) -> list[dict]:
    """Every G forward of the trainer: its mode, its input z and its output (with or without a graph)."""
    calls = []

    def hook(module, inputs, out):
        calls.append({"training": module.training, "z": inputs[0].detach().clone(), "out": out.detach().clone(),
                      "graph": out.requires_grad})
    trainer.G.register_forward_hook(hook)
    return calls


@pytest.mark.parametrize("order", ["d-first", "g-first"])
def test_eval_fakes_are_drawn_as_predict_draws_them_and_g_draws_its_own(fake_digits, order):
    trainer = Trainer(tiny_config("keras-dcgan", d_fakes="eval", step_order=order, amp=False), fake_digits)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    calls = _record_g(trainer)
    seen_by_d = []
    trainer.D.register_forward_pre_hook(lambda m, i: seen_by_d.append(i[0].detach().clone()))
    trainer.train_step()
    assert [c["training"] for c in calls] == ([False, True] if order == "d-first" else [True, False])
    predict = next(c for c in calls if not c["training"])
    own = next(c for c in calls if c["training"])
    assert not predict["graph"] and own["graph"]                      # predict keeps no graph; G's step draws its own
    assert not torch.equal(predict["z"], own["z"])
    assert any(torch.equal(x, predict["out"]) for x in seen_by_d)     # D's fakes are predict's
    assert trainer.G.training                                         # back in training mode afterwards
    if order == "d-first":                                            # predict's draw = G in eval mode (no dropout,
        G = Trainer(tiny_config("keras-dcgan", amp=False), fake_digits).G   # running statistics), before G's update
        G.load_state_dict(before)
        with torch.no_grad():
            assert torch.allclose(predict["out"], G.eval()(predict["z"]), atol=1e-6)
            assert not torch.allclose(predict["out"], G.train()(predict["z"]), atol=1e-3)


def _d_after_each_step(trainer) -> list[dict]:
    snaps = []
    snap = lambda *a: snaps.append({k: v.detach().clone() for k, v in trainer.D.state_dict().items()})  # noqa: E731
    trainer.opt_d.register_step_post_hook(snap)
    trainer.opt_g.register_step_post_hook(snap)
    return snaps


def test_a_trained_adversarial_d_also_moves_in_gs_step_towards_calling_the_fakes_real(fake_digits):
    frozen = Trainer(tiny_config("keras-dcgan", amp=False, adversarial_d="frozen"), fake_digits)
    trained = Trainer(tiny_config("keras-dcgan", amp=False, adversarial_d="trained"), fake_digits)
    f_snaps, t_snaps = _d_after_each_step(frozen), _d_after_each_step(trained)
    calls = _record_g(trained)
    torch.manual_seed(1)                   # dropout draws from the global generator: the same draws in both
    frozen.train_step()
    torch.manual_seed(1)
    trained.train_step()
    assert all(torch.equal(f_snaps[0][k], f_snaps[1][k]) for k in f_snaps[0])        # frozen: G's step leaves D
    assert all(torch.equal(f_snaps[0][k], t_snaps[0][k]) for k in f_snaps[0])        # the same D step in both
    assert any(not torch.equal(t_snaps[0][k], t_snaps[1][k]) for k in t_snaps[0])    # trained: D moved again
    # ... towards calling the step's fakes real: its logits on them rise (dropout off to compare)
    D = trained.D.eval()
    with torch.no_grad():
        D.load_state_dict(t_snaps[0])
        before = D(calls[0]["out"]).mean()
        D.load_state_dict(t_snaps[1])
        after = D(calls[0]["out"]).mean()
    assert after > before
    assert len(trained.opt_g.param_groups[0]["params"]) == len(list(trained.G.parameters())) + len(list(trained.D.parameters()))


def test_a_trained_adversarial_d_is_refused_across_processes(fake_digits):
    with pytest.raises(ValueError, match="one process only"):
        Trainer(tiny_config("dcgan", adversarial_d="trained"), fake_digits, World(rank=0, size=2))


def test_a_step_the_cuda_graph_cannot_capture_runs_uncaptured_and_says_why(fake_digits):
    plain = Trainer(tiny_config("dcgan", cuda_graph=True), fake_digits)
    other = Trainer(tiny_config("dcgan", cuda_graph=True, g_steps=2, step_order="g-first"), fake_digits)
    assert plain.use_graph and plain.step_mode == "fused"
    assert not other.use_graph and other.fused is None and other.step_mode == "eager"
    assert "g_steps 2" in other.step_note and "step_order g-first" in other.step_note and "d_fakes" not in other.step_note


@pytest.mark.parametrize("field, value", [("step_order", "sideways"), ("d_fakes", "predict"), ("adversarial_d", "yes"),
                                          ("g_steps", 0)])
def test_step_style_values_outside_their_choices_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        tiny_config("dcgan", **{field: value})


def test_learning_rates_halve_every_half_life_and_a_new_rate_decays_from_where_it_is_set(fake_digits):
    trainer = Trainer(tiny_config("dcgan", lr_g=2e-4, lr_d=4e-4, lr_half_life=4, steps=20), fake_digits)
    seen = []
    trainer.opt_g.register_step_pre_hook(lambda opt, *a: seen.append(float(opt.param_groups[0]["lr"])))
    for _ in range(9):
        trainer.train_step()
    assert seen[0] == pytest.approx(2e-4) and seen[4] == pytest.approx(1e-4) and seen[8] == pytest.approx(5e-5)
    assert seen[2] == pytest.approx(2e-4 * 0.5 ** 0.5)                       # smoothly, not in stairs
    assert trainer.lr[1] == pytest.approx(4e-4 * 0.25)
    trainer.set_lr(lr_d=1e-3)                                                 # the app's "apply now"
    assert trainer.cfg.lr_d == 1e-3 and trainer.lr[1] == pytest.approx(1e-3 * 0.5 ** (9 / 4))
    assert trainer.cfg.lr_g == 2e-4                                           # untouched, undecayed
    constant = Trainer(tiny_config("dcgan", lr_g=2e-4), fake_digits)
    for _ in range(5):
        constant.train_step()
    assert constant.lr[0] == 2e-4


@pytest.mark.parametrize("d_fakes", ["train", "eval"])
def test_a_generator_held_in_eval_mode_stays_there_through_ds_steps(fake_digits, d_fakes):
    """A probe's D is fitted against a frozen G in eval mode: D's steps must not switch it to training
    mode (its BatchNorm statistics would move)."""
    trainer = Trainer(tiny_config("dcgan", d_fakes=d_fakes), fake_digits)
    trainer.G.eval()
    stats = {k: v.clone() for k, v in trainer.G.state_dict().items() if "running" in k}
    trainer.d_step()
    assert not trainer.G.training
    assert all(torch.equal(v, trainer.G.state_dict()[k]) for k, v in stats.items())


def test_r1_adds_gamma_half_of_ds_squared_gradient_at_the_real_digits_to_ds_loss(fake_digits):
    from gan.engine.losses import r1_penalty
    plain, r1, twin = (Trainer(tiny_config("dcgan", r1_gamma=g, amp=False), fake_digits) for g in (0.0, 4.0, 4.0))
    real, _ = twin.next_batch()                                   # the batch r1's first step draws
    x = real.detach().requires_grad_(True)
    want = 4.0 / 2 * r1_penalty(twin.D(x, None), x).item()     # at the first step's D, before it moves
    plain.train_step()
    r1.train_step()
    assert want > 0 and r1.read_stats()["d_loss"] - plain.read_stats()["d_loss"] == pytest.approx(want, rel=1e-4)
    assert r1.plain_step                                           # a penalty, not another step style
