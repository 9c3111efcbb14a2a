"""Tests of gan/tools/crowd.py's render clients: the page's queue-free request and gradio_client's
queued one reach the same render (``python -m gan load --clients page|api|both``)."""
import pytest

from gan.app.requests import RenderRequest, api_call
from gan.tools.crowd import RENDER_CLIENTS


@pytest.mark.parametrize("via", ["page", "api"])
def test_both_render_clients_get_the_grid_and_hear_a_refusal_by_name(server, via):
    client = RENDER_CLIENTS[via](server[1])
    try:
        out = client.predict(**api_call(RenderRequest("cgan", seed=3, n=4)))
        grid = out[0] if isinstance(out, list) else out
        assert (grid.get("path") or grid.get("url") if isinstance(grid, dict) else grid).endswith(".png")
        with pytest.raises(Exception, match=r"\bseed\b"):
            client.predict(**api_call(RenderRequest("cgan", seed=-1, n=4)))
    finally:
        client.close()
