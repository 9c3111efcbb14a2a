"""Seeing inside the generator in a real browser: a drawing found in the model, a click on a grid
digit, a click on the latent map; each lands where the visitor looks (the grid, the sliders, words)."""
import os
import shutil

import pytest

from gan.inference.explore import N_SLIDERS
from tests.helpers import draw_stroke

SLIDER_VALUES = f"""() => Array.from({{length: {N_SLIDERS}}}, (_, i) =>
    document.querySelector(`input[aria-label="number input for Direction ${{i + 1}}"]`).value)"""


def sliders_leave(page, values: list, timeout: float = 60000) -> None:
    """Wait until the sliders' number boxes show other values than ``values``."""
    page.wait_for_function(f"JSON.stringify(({SLIDER_VALUES})()) !== {repr(str(values).replace(chr(39), chr(34)))}",
                           timeout=timeout)


@pytest.mark.browser
def test_find_a_drawing_click_a_digit_and_pick_on_the_map(server, page, tmp_path):
    from playwright.sync_api import expect
    page.goto(server[1])
    grid = page.locator("#samples-grid img").first
    expect(grid).to_be_visible(timeout=30000)
    start = page.evaluate(SLIDER_VALUES)
    assert start == ["0"] * N_SLIDERS

    # nothing drawn yet: a message says so; the sliders, the box and the pictures stay as they were
    before = grid.get_attribute("src")
    page.get_by_text("Draw a digit: find it").click()
    canvas = page.locator("#probe-sketch canvas").first
    expect(canvas).to_be_visible(timeout=15000)
    page.get_by_role("button", name="Find it in this model", exact=True).click()
    expect(page.get_by_text("draw or upload a digit first").first).to_be_visible(timeout=30000)
    expect(page.locator("#explore-row").get_by_text("Error")).to_have_count(0)
    expect(page.locator("#find-match").get_by_text("Error")).to_have_count(0)
    assert page.evaluate(SLIDER_VALUES) == start and grid.get_attribute("src") == before
    expect(page.locator("#start-from-pick input")).not_to_be_checked()
    page.screenshot(path=str(tmp_path / "find-refused.png"), full_page=True)

    # a drawing, found in the model: the match, the box ticked, the sliders at the match, a new grid
    draw_stroke(page, canvas)
    page.get_by_role("button", name="Find it in this model", exact=True).click()
    expect(page.locator("#find-text")).to_contain_text("Found in", timeout=60000)
    expect(page.locator("#find-match img").first).to_be_visible()
    expect(page.locator("#start-from-pick input")).to_be_checked()
    sliders_leave(page, start)
    expect(grid).not_to_have_attribute("src", before, timeout=30000)
    found = page.evaluate(SLIDER_VALUES)
    page.screenshot(path=str(tmp_path / "find.png"), full_page=True)

    # a click on a grid digit: its nearest training digits and the verdict
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    grid.click(position={"x": box["width"] * 0.05, "y": box["height"] * 0.05})     # the first digit
    expect(page.locator("#nearest-text")).to_contain_text("Nearest training digits to digit 1", timeout=30000)
    expect(page.locator("#nearest-strip img").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "nearest.png"), full_page=True)

    # the map: drawn on request; a click moves the sliders to that sample and redraws the grid
    page.get_by_text("Map of this model's digits").click()
    page.get_by_role("button", name="Draw the map").click()
    map_img = page.locator("#latent-map img").first
    expect(map_img).to_be_visible(timeout=60000)
    map_img.scroll_into_view_if_needed()
    before = grid.get_attribute("src")
    box = map_img.bounding_box()
    map_img.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
    expect(page.get_by_text("Picked a sample the evaluator reads as").first).to_be_visible(timeout=30000)
    sliders_leave(page, found)
    expect(grid).not_to_have_attribute("src", before, timeout=30000)
    page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
    shots = os.environ.get("GAN_SCREENSHOTS")
    if shots:
        for f in tmp_path.glob("*.png"):
            shutil.copy(f, shots)
