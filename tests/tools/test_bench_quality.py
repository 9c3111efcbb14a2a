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
