"""What a learner trips on, clicked through in Debian's Chromium against the real app: pretrained
starts, Compare with two runs, the histogram's axis, refused seeds, the picture's label, the
conditional-only controls and the phone layout. Each waits on what it checks, never on time."""
import re

import pytest

from tests.helpers import open_browser

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def finished(page, run: int):
    from playwright.sync_api import expect
    expect(page.get_by_text(re.compile(rf"run {run} \(\w[\w-]*\)\s*- (finished|failed|aborted)")).first).to_be_visible(
        timeout=90000)
    return page.locator("#train-outputs").inner_text()


def test_pretrained_start_compare_of_two_runs_and_a_numeric_histogram(server, page):
    from playwright.sync_api import expect
    page.goto(server[1])
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("steps").check()
    length = page.get_by_label("Length", exact=True)
    length.fill("12")
    length.press("Tab")
    page.get_by_label("pretrained").check()
    page.get_by_role("button", name="Start training").click()
    text = finished(page, 1)
    assert "- finished" in text and "full width" in text, text              # cgan: the shipped width loads
    expect(page.get_by_text("Error")).to_have_count(0)
    page.get_by_label("scratch").check()
    page.get_by_role("button", name="Start training").click()
    assert "- finished" in finished(page, 2)
    legend = page.locator("#compare-plot")
    expect(legend.get_by_text("run 1 (cgan)")).to_be_visible(timeout=30000)   # both runs, not the first alone
    expect(legend.get_by_text("run 2 (cgan)")).to_be_visible(timeout=30000)
    ticks = page.locator("#class-hist").inner_text().split()
    assert [t for t in ticks if re.fullmatch(r"\d\.\d+", t)] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], ticks


def test_explore_refuses_bad_seeds_aloud_keeps_the_picture_clear_and_greys_out_digit_pickers(server, page):
    from playwright.sync_api import expect
    page.goto(server[1])
    grid = page.locator("#samples-grid img").first
    expect(grid).to_be_visible(timeout=30000)
    seed = page.get_by_label("Seed").first
    for bad, said in (("3.7", "got 3.7"), ("", "got None"), ("1e20", "got 100000000000000000000")):
        seed.fill(bad)
        seed.press("Enter")
        expect(page.locator(".toast-body").get_by_text(re.compile(rf"seed must be .*{said}")).first).to_be_visible(
            timeout=15000)
    for box_of in ("#samples-grid label[data-testid='block-label']", "#samples-grid button[aria-label='Download']"):
        assert page.locator(box_of).first.bounding_box()["y"] + page.locator(box_of).first.bounding_box()["height"] \
            <= grid.bounding_box()["y"] + 1, box_of                              # above the picture, not on it
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name=re.compile(r"^dcgan")).click()
    page.get_by_text("Interpolate between two seeds").click()
    for label in ("Digit (conditional models)", "Digit A", "Digit B"):
        picker = page.get_by_label(label)
        expect(picker).to_be_disabled(timeout=15000)
        expect(picker).to_have_value("all")
    frames = page.get_by_label("number input for Frames")
    frames.fill("30")
    frames.press("Enter")
    page.get_by_role("button", name="Interpolate", exact=True).click()
    strip = page.locator("#interp-strip img").first
    expect(strip).to_be_visible(timeout=30000)
    label = page.locator("#interp-strip label[data-testid='block-label']").first.bounding_box()
    assert label["y"] + label["height"] <= strip.bounding_box()["y"] + 1


def test_on_a_phone_the_picture_stays_in_view_and_the_run_shows_before_its_buttons(server, chromium):
    from playwright.sync_api import expect
    with open_browser(chromium) as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(server[1])
        grid = page.locator("#samples-grid img").first
        expect(grid).to_be_visible(timeout=30000)
        page.get_by_label("number input for Direction 8").scroll_into_view_if_needed()
        page.wait_for_function("document.scrollingElement.scrollTop > 300")
        box = grid.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box   # scrolled, still on screen
        page.get_by_role("tab", name="Train").click()
        start = page.get_by_role("button", name="Start training")
        live = page.locator("#live-grid")
        pause = page.get_by_role("button", name="Pause")
        expect(pause).to_be_visible(timeout=15000)
        assert start.bounding_box()["y"] < live.bounding_box()["y"] < pause.bounding_box()["y"]
