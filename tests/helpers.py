"""What several test modules share: small drawing helpers over the app's own request path."""
from __future__ import annotations

import numpy as np

from gan.app import pictures
from gan.app.limits import Limits
from gan.app.requests import SLIDER_FIELDS, RenderRequest


def draw(explorer, seed, n, sliders=(), digit="all", raw=False, limits: Limits | None = None) -> np.ndarray:
    """The grid the app renders for these values, checked as the app checks a visitor's (sliders
    beyond those given stay at 0)."""
    req = RenderRequest(seed=seed, n=n, digit=digit, raw=raw, **dict(zip(SLIDER_FIELDS, sliders)))
    return pictures.render(explorer, req.parse(limits or Limits.from_env()))
