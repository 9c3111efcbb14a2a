"""Tests of gan/app/limits.py."""
from gan.app import limits as app_limits


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("GAN_MAX_CONCURRENT_RUNS", "3")
    monkeypatch.setenv("GAN_MAX_SAMPLES", "nan")
    monkeypatch.setenv("GAN_MAX_RUN_SECONDS", "-5")
    lim = app_limits.Limits.from_env()
    assert lim.max_concurrent_runs == 3 and lim.max_samples == 100 and lim.max_run_seconds == 1
