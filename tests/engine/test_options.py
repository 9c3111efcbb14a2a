"""Tests of gan/engine/options.py."""
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan.engine import options
from gan.engine.options import check_float, check_int

# derandomize: CI explores the same examples every run (a red CI means a regression, not luck);
# run with --hypothesis-seed=random locally to search further.
FAST = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


anything = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
                     st.text(max_size=20), st.lists(st.integers(), max_size=3), st.binary(max_size=8))


def test_number_checks_accept_their_bounds_and_nothing_past_them():
    assert options.check_float("x", 0, 0, 0.5) == 0.0 and options.check_float("x", 0.5, 0, 0.5) == 0.5
    assert options.check_int("n", 1, 1, 100) == 1 and options.check_int("n", 100, 1, 100) == 100
    for bad in (-1e-9, 0.5 + 1e-9):
        with pytest.raises(ValueError, match=r"x must be in \[0, 0.5\]"):
            options.check_float("x", bad, 0, 0.5)
    for bad in (0, 101):
        with pytest.raises(ValueError, match=r"n must be a whole number in \[1, 100\]"):
            options.check_int("n", bad, 1, 100)
    assert options.check_int("digit", "7", 0, 9) == 7          # a dropdown's string
    for bad in (True, [3], {"a": 1}, None):
        with pytest.raises(ValueError, match="must be a number"):
            options.check_int("digit", bad, 0, 9)


@FAST
@given(value=anything)
def test_check_int_accepts_exactly_the_whole_numbers_in_range(value):
    try:
        out = check_int("seed", value, 0, 1000)
    except ValueError as e:
        assert "seed" in str(e)
        return
    assert isinstance(out, int) and 0 <= out <= 1000 and out == float(value)


@FAST
@given(value=anything)
def test_check_float_accepts_exactly_the_finite_numbers_in_range(value):
    try:
        out = check_float("lr", value, 1e-6, 0.1)
    except ValueError as e:
        assert "lr" in str(e)
        return
    assert math.isfinite(out) and 1e-6 <= out <= 0.1


# ---------------------------------------------------------------------- the table
@pytest.mark.parametrize("option", options.OPTIONS, ids=lambda o: o.name)
def test_every_option_is_a_config_field_checked_at_its_bounds(option):
    """Each row's bounds are the config's: both ends accepted, just past either refused by name."""
    from gan.engine.config import TrainConfig
    assert option.name in TrainConfig.__dataclass_fields__
    if option.kind not in ("int", "float"):
        return
    lo, hi = option.bounds
    step = 1 if option.kind == "int" else 1e-6 * max(1.0, abs(hi))
    for ok in (lo, hi):
        assert getattr(TrainConfig.for_preset("dcgan", steps=1, **{option.name: ok}), option.name) == ok
    for bad in (lo - step, hi + step):
        with pytest.raises(ValueError, match=rf"^{option.name} must be in"):
            TrainConfig.for_preset("dcgan", steps=1, **{option.name: bad})


@pytest.mark.parametrize("option", options.FORM_OPTIONS, ids=lambda o: o.name)
def test_every_form_option_is_a_request_field_checked_against_the_forms_range(option):
    """The Train tab's fields are the table's form rows; a value past the form's range is refused with
    the option's name and label, an empty one takes the preset's recipe."""
    from gan.app.limits import Limits
    from gan.app.requests import TrainRequest, fields_of
    from gan.app.runs import app_recipe
    assert option.name in fields_of(TrainRequest)
    recipe = app_recipe("dcgan")
    cfg = TrainRequest(preset="dcgan", **{option.name: None}).to_config(Limits.from_env(), recipe)
    assert getattr(cfg, option.name) == getattr(recipe, option.name)
    if option.kind in ("int", "float") and option.form:
        lo, hi, _ = option.form
        assert getattr(TrainRequest(preset="dcgan", **{option.name: hi}).to_config(Limits.from_env(), recipe), option.name) == hi
        with pytest.raises(ValueError, match=re.escape(option.title)):
            TrainRequest(preset="dcgan", **{option.name: hi * 2 + 1}).to_config(Limits.from_env(), recipe)
