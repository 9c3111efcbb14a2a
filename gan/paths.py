"""Where the repository's own files live: the one place that knows the layout around gan/."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent         # app.py, weights/, tests/
WEIGHTS_DIR = REPO / "weights"                         # the shipped generators, their cards and metrics
