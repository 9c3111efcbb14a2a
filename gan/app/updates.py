"""How a handler tells the UI to leave a component alone (``KEEP``) or change only some of its
properties (``Update(choices=..., value=...)``), without importing a UI framework."""
from __future__ import annotations

KEEP = object()             # this output did not change: the browser keeps what it shows


class Update(dict):
    """Some properties of one component, e.g. ``Update(interactive=False)``."""
