"""A short version of ``python -m gan load`` (the full one is 2 minutes, 20 explorers, 4 trainers):
the app as users start it, in its own process, under concurrent gradio_client visitors of the
mixed profile (every shipped model, 1-100 digits, bad values, a trainer who leaves mid-run)."""
import pytest

from gan.tools.load import run_load


@pytest.mark.slow
def test_short_mixed_load_has_no_errors_and_respects_the_training_limit():
    def seen_enough(tally) -> bool:                    # a slow machine runs longer, never shows less
        with tally.lock:
            runs = list(tally.runs)
        return (sum(len(v) for v in list(tally.latencies.values())) >= 40 and any(r["left"] for r in runs)
                and any(r["finished"] for r in runs))
    # at least 4 s (five memory samples, 1 s apart), then until enough was seen
    r = run_load(explorers=4, trainers=2, seconds=4, max_requests=2000, slots=1, run_seconds=3, until=seen_enough,
                 max_seconds=180, sample_every=1.0)
    assert r["errors"] == 0, r["error_samples"]
    assert r["server_alive"]
    assert r["render_requests"] >= 40 and len(r["per_model"]) >= 3     # explorers were served while runs trained
    assert r["bad_values_refused_by_name"] >= 1                          # ...and their bad values refused by name
    assert r["runs_left_mid_way"] >= 1                                   # the leaving visitor freed the slot:
    assert r["training_runs"] >= 1 and r["runs_finished"] == r["training_runs"]   # the others' runs still finished
    assert r["images_per_sec_per_run"] > 0                               # read from the status while they ran
    assert r["max_runs_at_once"] <= 1                                    # the concurrency limit held
    assert r["queue_wait_max_s"] > 1                                     # ...because someone had to wait
    assert len(r["memory_curve"]) >= 5 and r["memory_mb_end"] > 100


def test_memory_growth_is_the_trend_not_the_swing():
    from gan.tools.load import memory_second_half
    swings = [(60 + 2 * i, 1200 - 60 * (i % 8 == 7)) for i in range(31)]      # a drop every 16 s, no trend
    leaks = [(60 + 2 * i, 1000 + 3 * i) for i in range(31)]                    # +3 MB every 2 s
    assert abs(memory_second_half(swings)["memory_mb_second_half_growth"]) < 10
    assert memory_second_half(swings)["memory_mb_second_half_range"] == 60
    assert memory_second_half(leaks)["memory_mb_second_half_growth"] == 90
    assert memory_second_half([(60, 1)])["memory_mb_second_half_growth"] is None


def test_every_profile_and_client_kind_is_taken_and_a_wrong_one_named(monkeypatch):
    import pytest

    from gan.tools import load

    class Started(Exception):
        pass

    def start_server(env):
        raise Started(env)
    monkeypatch.setattr(load, "start_server", start_server)
    for profile in ("mixed", "cgan50"):
        for clients in ("page", "api", "both"):
            with pytest.raises(Started):                   # past the checks: the server would start now
                load.run_load(profile=profile, clients=clients)
    with pytest.raises(ValueError, match="--profile must be mixed or cgan50, got 'cgan'"):
        load.run_load(profile="cgan")
    with pytest.raises(ValueError, match="--clients must be page, api or both, got 'browser'"):
        load.run_load(clients="browser")
    with pytest.raises(ValueError, match=r"--sample-every must be in \[0.1, 60\] seconds, got 0"):
        load.run_load(sample_every=0)
    from gan.commands import main
    seen = []                                              # the command line's cadence reaches the run
    monkeypatch.setattr(load, "run_load", lambda *a, **kw: seen.append(kw) or pytest.fail("stop here"))
    with pytest.raises(pytest.fail.Exception):
        main(["load", "--sample-every", "0.5"])
    assert seen[0]["sample_every"] == 0.5
