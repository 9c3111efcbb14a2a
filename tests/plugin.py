"""The suite's pytest hooks (registered in setup.cfg with ``-p tests.plugin``): its markers, GPU-only
tests skipped without a GPU, modules' long runs started when collection ends (and killed when the
session does), and under mutmut a mutant's quickest tests first."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# the evaluator's reference cache: one per test session (its subprocesses share it), never the user's
os.environ.setdefault("GAN_CACHE_DIR", tempfile.mkdtemp(prefix="gan-test-cache-"))
torch.set_num_threads(min(2, os.cpu_count() or 1))

from tests import helpers  # noqa: E402  (after the environment above: gan reads it)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (still part of the default run)")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
    config.addinivalue_line("markers", "browser: drives Debian's Chromium")
    # Gradio's queue calls two pandas APIs that pandas 3 deprecates (gradio/queueing.py); not ours to fix
    config.addinivalue_line("filterwarnings", "ignore:'future.no_silent_downcasting' is deprecated")
    config.addinivalue_line("filterwarnings", "ignore:The copy keyword is deprecated")


def _fastest_first_for_a_mutant(items):
    """Under `mutmut run`, run a mutant's tests in order of their recorded times, a module at a
    time (its fixtures are built once): most mutants fail a quick test, and `-x` stops there."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from its mutants/ copy
    if "__mutmut_" not in mutant or not stats.is_file():
        return
    import json
    seconds = json.loads(stats.read_text()).get("duration_by_test", {})
    module = lambda item: getattr(getattr(item, "module", None), "__name__", "")  # noqa: E731
    per_module: dict[str, float] = {}
    for item in items:
        per_module[module(item)] = per_module.get(module(item), 0.0) + seconds.get(item.nodeid, 0.0)
    items.sort(key=lambda item: (per_module[module(item)], module(item), seconds.get(item.nodeid, 0.0)))


def pytest_collection_finish(session):
    by_module: dict = {}
    for item in session.items:
        by_module.setdefault(getattr(item, "module", None), []).append(item)
    for module, items in by_module.items():
        if hasattr(module, "start_early"):
            module.start_early(items)               # the module's selected tests: it starts what they need


def pytest_sessionfinish(session):
    for proc, _, _ in helpers.EARLY.values():       # a failed or deselected test never leaves one running
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def pytest_collection_modifyitems(config, items):
    _fastest_first_for_a_mutant(items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
