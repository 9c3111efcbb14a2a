"""Tests of gan/app/limits.py."""
from gan.app import limits as app_limits


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("GAN_MAX_CONCURRENT_RUNS", "3")
    monkeypatch.setenv("GAN_MAX_SAMPLES", "nan")
    monkeypatch.setenv("GAN_MAX_RUN_SECONDS", "-5")
    lim = app_limits.Limits.from_env()
    assert lim.max_concurrent_runs == 3 and lim.max_samples == 100 and lim.max_run_seconds == 1


def test_a_gpu_server_defaults_to_more_and_longer_runs_than_a_cpu_one(monkeypatch):
    for name in ("GAN_MAX_CONCURRENT_RUNS", "GAN_MAX_RUN_SECONDS", "GAN_MAX_SAMPLES", "GAN_MAX_UPLOAD_MB",
                 "GAN_MAX_RUNS_PER_SESSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(app_limits, "on_gpu", lambda: True)
    assert app_limits.Limits.from_env() == app_limits.Limits(4, 300, 100, 20, 5)
    monkeypatch.setattr(app_limits, "on_gpu", lambda: False)
    assert app_limits.Limits.from_env() == app_limits.Limits(1, 120, 100, 20, 5)
