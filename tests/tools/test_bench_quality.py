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
