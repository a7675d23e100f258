"""A gallery's first screen on a phone: the heading, the download and one row of controls, then the images; the
filter, the order, Picks and the density open under "View", by touch and by keyboard."""

from playwright.sync_api import expect

from browsing import axe_problems
from flux_emulator import app as sample

EVERYTHING = "/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Everything"])


def test_on_a_phone_the_images_start_in_the_first_third_and_view_opens_the_controls(browse, axe_source):
    page = browse.open(EVERYTHING, view="phone")
    top = page.evaluate("document.getElementById('grid').getBoundingClientRect().top")
    assert top <= page.viewport_size["height"] / 3, f"the images start at {top}px"
    expect(page.get_by_role("link", name="Download all (.zip)")).to_be_visible()
    toggle = page.get_by_role("button", name="View")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#filter")).to_be_hidden()
    problems = axe_problems(page, axe_source)
    assert problems == [], "\n".join(problems)

    # By keyboard: the toggle opens the group and takes the focus into it; every control there works.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#filter")).to_be_focused()
    for control in ("#sort", "#picks-only", "#select-all", 'a[data-density="details"]'):
        expect(page.locator(control)).to_be_visible()
    page.keyboard.type("lighthouse")
    expect(page.locator("#filter-status")).to_contain_text("match")
    problems = axe_problems(page, axe_source)
    assert problems == [], "\n".join(problems)
    # Closed again (a tap), it says a filter is on.
    toggle.tap()
    expect(page.locator("#filter")).to_be_hidden()
    expect(toggle).to_have_text("View · filtered")


def test_without_javascript_a_phone_still_shows_the_density_switch(browse):
    page = browse.open(EVERYTHING, view="phone", javascript=False)
    expect(page.locator('a[data-density="details"]')).to_be_visible()
    expect(page.locator("#view-toggle")).to_be_hidden()
