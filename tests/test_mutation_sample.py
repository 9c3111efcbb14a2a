"""The mutation sample's bookkeeping (tests/mutation_sample.py): the score README reports comes from it."""
import json

import pytest

from tests.mutation_sample import function_name, tally, wilson


def test_wilsons_interval_matches_the_textbook_values():
    assert wilson(217, 238) == pytest.approx((0.869, 0.942), abs=0.001)      # the fifth run's figures
    low, high = wilson(10, 10)
    assert high == 1.0 and low == pytest.approx(0.722, abs=0.001)
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_mutants_function_name_is_read_from_mutmuts_mangled_name():
    assert function_name("gan.app.library.xǁModelLibraryǁget__mutmut_24") == "get"
    assert function_name("gan.shipping.campaign_chart.x_draw_curves__mutmut_114") == "draw_curves"


def test_the_tally_counts_kills_and_hand_verdicts_and_leaves_equivalent_mutants_out(tmp_path):
    log, verdicts = tmp_path / "log.jsonl", tmp_path / "verdicts.jsonl"
    rows = [("a", "killed"), ("b", "killed"), ("c", "survived"), ("d", "survived"), ("e", "timeout"),
            ("f", "survived"), ("g", "no tests"), ("h", "survived")]
    log.write_text("".join(json.dumps({"name": n, "status": s}) + "\n" for n, s in rows))
    said = {"c": "new test", "d": "equivalent", "e": "existing test", "f": "not worth a test", "g": "needs a gpu"}
    verdicts.write_text("".join(json.dumps({"name": n, "verdict": v, "why": ""}) + "\n" for n, v in said.items()))
    out = tally(str(log), str(verdicts))
    assert "detected 4 of 6 non-equivalent = 66.7%" in out                      # a, b, c, e of all but d and h
    assert out.splitlines()[-1] == "1 not yet read: h"
