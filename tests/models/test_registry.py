"""The preset registry's decisions: whether a model's metrics meet its preset's goal (each check on
both sides of its threshold and exactly at it), and one name per preset."""
import pytest

from gan.models import registry
from gan.models.registry import GOAL_CHECKS, goal_shortfalls

# goal key -> (a value exactly at the goal, one just past it on the good side, one just short)
EDGES = {
    "fid_ratio": (4.0, 3.99, 4.01),
    "modes": (10, 11, 9),
    "classifier_score": (9.3, 9.31, 9.29),
    "cgan_accuracy": (0.99, 0.991, 0.989),
    "digit_share": (0.97, 0.971, 0.969),
}


def test_every_goal_check_is_tested_here():
    assert set(EDGES) == set(GOAL_CHECKS)


@pytest.mark.parametrize("key", sorted(EDGES))
def test_a_goal_is_met_at_and_past_its_threshold_and_missed_short_of_it(key):
    at, past, short = EDGES[key]
    goal = {key: at}
    assert goal_shortfalls(goal, {key: at}) == []
    assert goal_shortfalls(goal, {key: past}) == []
    missed = goal_shortfalls(goal, {key: short})
    assert len(missed) == 1 and missed[0] == GOAL_CHECKS[key][2](short, at)


def test_shortfalls_read_as_words_with_the_measured_value_and_the_goal():
    goal = {"fid_ratio": 4.0, "classifier_score": 9.3, "cgan_accuracy": 0.99, "modes": 10}
    got = goal_shortfalls(goal, {"fid_ratio": 38.6, "classifier_score": 8.51, "cgan_accuracy": 0.95, "modes": 8})
    assert got == ["FID 39x floor (goal <= 4x)", "score 8.51 (goal >= 9.3)", "right digit 95.0% (goal >= 99%)",
                   "8 of 10 digits"]


def test_every_part_of_a_goal_counts_and_an_unmeasured_one_is_a_shortfall():
    goal = {"fid_ratio": 12.0, "modes": 10}
    assert goal_shortfalls(goal, {"fid_ratio": 3.0, "modes": 10}) == []
    assert goal_shortfalls(goal, {"fid_ratio": 3.0, "modes": 9}) == ["9 of 10 digits"]
    assert goal_shortfalls(goal, {"fid_ratio": 13.0, "modes": 10}) == ["FID 13x floor (goal <= 12x)"]
    assert goal_shortfalls(goal, {"modes": 10}) == ["fid_ratio not measured"]
    assert goal_shortfalls({}, {"fid_ratio": 500.0}) == []


def test_every_shipped_preset_has_a_goal_the_checks_know():
    for name in registry.preset_names():
        goal = registry.get_preset(name).goal
        assert goal and set(goal) <= set(GOAL_CHECKS), name


def test_a_second_preset_of_the_same_name_is_refused():
    table = {}
    first = registry.get_preset("dcgan")
    assert registry.add_named(table, first, "preset") is first and table == {"dcgan": first}
    with pytest.raises(ValueError, match="preset 'dcgan' is registered twice"):
        registry.add_named(table, first, "preset")
    assert table == {"dcgan": first}


@pytest.mark.parametrize("field,good,bad,words", [
    ("z_dim", (1, 1024), (0, 1025, 2.0, "8"), "z_dim must be an integer in \\[1, 1024\\]"),
    ("z_dist", ("normal", "uniform"), ("gauss", None), "z_dist must be 'normal' or 'uniform'"),
    ("num_classes", (0, 10), (1, 9, 11), "num_classes must be 0 or 10"),
    ("output", ("tanh", "sigmoid"), ("relu", ""), "output must be 'tanh' or 'sigmoid'"),
])
def test_a_model_config_takes_every_valid_value_and_names_the_field_of_a_bad_one(field, good, bad, words):
    preset = registry.get_preset("dcgan")
    for value in good:
        assert getattr(preset.model_config(**{field: value}), field) == value
    for value in bad:
        with pytest.raises(ValueError, match=words):
            preset.model_config(**{field: value})


def test_an_unknown_model_field_or_preset_is_refused_by_name():
    with pytest.raises(ValueError, match=r"DCGANConfig has no field\(s\) \['rm_rf'\]; known: \["):
        registry.get_preset("dcgan").model_config(rm_rf=1)
    with pytest.raises(ValueError, match="unknown preset 'stylegan9'; choose one of: dcgan, cgan, cs231n, keras-dcgan, one-digit, vanilla, wgan-gp$"):
        registry.get_preset("stylegan9")
    with pytest.raises(ValueError, match="a preset is named by a string, got 3"):
        registry.get_preset(3)


def test_a_saved_config_rebuilds_the_same_model_config():
    cfg = registry.get_preset("cgan").model_config(z_dim=16)
    import dataclasses
    again = registry.model_config_from_dict("cgan", dataclasses.asdict(cfg))
    assert again == cfg and type(again) is type(cfg)
