"""Tests of gan/tools/bench_quality.py's latency rows (the figures are benchmarks, not tested)."""
from gan.tools.bench_quality import latency
from tests.helpers import ROOT


def test_latency_times_every_render_and_every_look_inside_the_generator():
    rows = latency(str(ROOT / "weights" / "one-digit.safetensors"), repeats=1)
    whats = [r["what"] for r in rows]
    for part in ("one digit", "64-digit grid", "slider move (64 digits)", "10-frame interpolation",
                 "find my digit (inversion, 8 starts x 120 steps)", "nearest training digits of one digit",
                 "latent map, 2,000 samples, cold"):
        assert part in whats
    assert all(r["preset"] == "one-digit" and 0 < r["p50_ms"] <= r["p95_ms"] for r in rows)
    by = {r["what"]: r["p50_ms"] for r in rows}
    assert by["find my digit (inversion, 8 starts x 120 steps)"] > by["one digit"]       # 960 generator passes vs 1


def test_the_evaluator_bench_times_each_batch_size_in_both_dtypes_and_compares_their_features(fake_digits):
    from gan.tools.bench_quality import evaluator_speed
    rows = evaluator_speed((64, 200), n=400, data=fake_digits)
    assert [(r["dtype"], r["batch"]) for r in rows] == [("float32", 64), ("float32", 200), ("bfloat16", 64),
                                                          ("bfloat16", 200)]
    assert all(r["images"] == 400 and r["images_per_sec"] > 0 for r in rows)
    assert all(r["identical_to_first"] for r in rows)      # the batch size changes the speed, never the features


def _scores(*ratios):
    """A stand-in for score_images: FID / floor of each check in turn (floor 1), ten modes."""
    seq = iter(ratios)
    return lambda imgs, pr: {"fid": next(seq), "modes": 10}


def test_time_to_quality_stops_at_the_first_check_under_the_target_or_at_its_time_limit(monkeypatch, fake_digits):
    from gan.tools import bench_quality
    from tests.helpers import tiny_config
    monkeypatch.setattr(bench_quality, "reference", lambda: {"floor_fid": 1.0})
    cfg = tiny_config("vanilla", steps=5, log_every=1)                 # its length is the benchmark's own
    monkeypatch.setattr(bench_quality, "score_images", _scores(50.0, 30.0, 20.0, 5.0, 1.0))
    hit = bench_quality.time_to_quality(cfg, fid_ratio=20.0, max_seconds=60.0, eval_every=0.01, log=lambda s: None,
                                        data=fake_digits)
    assert [c[2] for c in hit["curve"]] == [50.0, 30.0, 20.0]          # ends at the first check at or under 20x
    assert round(hit["seconds_to_target"], 2) == hit["curve"][-1][0] and hit["target_ratio"] == 20.0
    assert (hit["final_ratio"], hit["final_modes"], hit["preset"]) == (20.0, 10, "vanilla")
    monkeypatch.setattr(bench_quality, "score_images", _scores(*[50.0] * 10_000))
    miss = bench_quality.time_to_quality(cfg, fid_ratio=20.0, max_seconds=0.3, eval_every=0.05, log=lambda s: None,
                                         data=fake_digits)
    assert miss["seconds_to_target"] is None and miss["curve"][-1][0] >= 0.3     # never under: ran its time
    assert all(b[0] - a[0] >= 0.05 - 0.01 for a, b in zip(miss["curve"], miss["curve"][1:]))   # times rounded to 0.01


def test_every_quality_bench_command_runs_its_measurement_with_the_options_given(monkeypatch, capsys):
    """`python -m gan bench ttq|visitor|ui|stream|slider|latency`: each reaches its measurement with its
    defaults or the options given (the measurements themselves are stand-ins here)."""
    import json

    from gan.commands import main
    from gan.tools import bench_quality as bq
    calls = []

    def record(name, rows=False):
        return lambda *a, **kw: calls.append((name, a, kw)) or ([{"what": name}] if rows else {"what": name})
    for attr, name in (("time_to_quality", "ttq"), ("visitor_run", "visitor"), ("_ui_overhead", "ui"),
                       ("_stream_rate", "stream"), ("_slider", "slider")):
        monkeypatch.setattr(bq, attr, record(name))
    monkeypatch.setattr(bq, "latency", record("latency", rows=True))
    monkeypatch.setattr(bq, "evaluator_speed", record("evaluator", rows=True))

    def ran(*argv):
        calls.clear()
        assert main(["bench", *argv, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["what"] == calls[0][0]
        return calls[0]
    _, (cfg, ratio, max_s, every, n_eval), _ = ran("ttq")
    assert (cfg.preset, ratio, max_s, every, n_eval) == ("dcgan", 20.0, 60.0, 2.0, 2000)
    _, (cfg, ratio, _, _, n_eval), _ = ran("ttq", "--preset", "cgan", "--fid-ratio", "9", "--n-eval", "300", "--lr-g", "1e-3")
    assert (cfg.preset, cfg.lr_g, ratio, n_eval) == ("cgan", 1e-3, 9.0, 300) and isinstance(n_eval, int)
    assert ran("visitor") == ("visitor", ("cgan", 60.0), {})
    assert ran("visitor", "--seconds", "5", "--ema", "0.99", "--batch", "32") == \
        ("visitor", ("cgan", 5.0), {"ema": 0.99, "batch_size": 32})
    assert ran("ui") == ("ui", ("cgan", 600, 2), {}) and ran("stream", "--seconds", "3") == ("stream", ("cgan", 3.0, 2), {})
    assert ran("slider", "--repeats", "4") == ("slider", (4,), {})
    assert ran("evaluator") == ("evaluator", ([256, 1000], 20000), {})
    assert ran("evaluator", "--batches", "64", "--n", "500") == ("evaluator", ([64], 500), {})
    assert ran("latency", "--weights", "a.safetensors", "b.safetensors")[1] == ("a.safetensors", "cpu", 30)
