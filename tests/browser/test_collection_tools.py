"""A collection's page in a real browser, beyond the first version: reordering by touch and by buttons, a pending
item that finishes in place, "Add to …" over many collections, deleting one's own collection, and the selection
tray that never hides the end of the page."""

import re

import pytest
import requests
from playwright.sync_api import expect

from browsing import give_name
from flux_emulator import app as sample
from support import set_fault

DONE, LAKE, MULTI = sample.DONE_ID, sample.LAKE_ID, sample.MULTI_ID
SMALL = f"/tasks/{MULTI},{DONE},{LAKE}"
KEYS = [f"{MULTI}-{n}" for n in range(4)] + [f"{DONE}-0", f"{LAKE}-0", f"{LAKE}-1"]
POLLS = "**/api/tasks/**"
LIST_PAGE = 24  # collections on one page of /api/collections (gallery/web/collections.py)


def shown_keys(page) -> list[str]:
    return page.eval_on_selector_all("#grid > li:not([hidden])", "cards => cards.map(c => c.dataset.key)")


def server_order(page, slug: str, keys: list[str]) -> None:
    """Wait until the server has the collection's items in this order."""
    page.wait_for_function("""([path, want]) => fetch(path, {cache: 'no-store'}).then(r => r.json())
      .then(c => c.items.map(i => i.ref).join() === want)""", arg=[f"/api/collections/{slug}", ",".join(keys)],
                           timeout=5_000)


def make(base: str, title: str, items: list[str]) -> str:
    """A collection made by a script (no cookie): its slug."""
    answer = requests.post(f"{base}/api/collections", json={"title": title, "items": items}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["slug"]


@pytest.mark.poll_seconds(0.5)
def test_on_a_phone_the_tray_moves_one_item_and_its_maker_deletes_the_collection(browse, live_server):
    ana = browse.open(SMALL, view="phone")
    for key in KEYS[:3]:
        ana.locator(f"#image-{key} .card__select").tap()
    ana.locator("#collection-new").tap()
    give_name(ana, "Ana")
    ana.wait_for_url(re.compile(r"/c/[A-Za-z0-9_-]+$"))
    slug = ana.url.rsplit("/", 1)[1]
    ana.locator("#collection-title-input").press("Escape")
    mover = ana.locator("#collection-move")
    expect(mover).to_be_hidden()

    # One selected item: the Move buttons show, and each tap moves it, on the page and on the server.
    ana.locator(f"#image-{KEYS[0]} .card__select").tap()
    expect(mover).to_be_visible()
    mover.get_by_role("button", name="Move later").tap()
    assert shown_keys(ana) == [KEYS[1], KEYS[0], KEYS[2]]
    server_order(ana, slug, [KEYS[1], KEYS[0], KEYS[2]])
    mover.get_by_role("button", name="Move to last").tap()
    assert shown_keys(ana) == [KEYS[1], KEYS[2], KEYS[0]]
    server_order(ana, slug, [KEYS[1], KEYS[2], KEYS[0]])
    # From the keyboard too: the focus stays on the button, so it can be pressed again.
    earlier = mover.get_by_role("button", name="Move earlier")
    earlier.focus()
    ana.keyboard.press("Enter")
    ana.keyboard.press("Enter")
    expect(ana.locator("#grid > li").first).to_have_attribute("data-key", KEYS[0])
    expect(earlier).to_be_focused()
    ana.keyboard.press("Enter")
    expect(ana.locator("#announcer")).to_contain_text("Already first.")
    server_order(ana, slug, KEYS[:3])

    # The tray floats over the page, but the page ends below it: the last card scrolls clear of it.
    ana.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    tray_top = ana.locator("#select-tray").bounding_box()["y"]
    last = ana.locator("#grid > li").last.bounding_box()
    assert last["y"] + last["height"] <= tray_top
    # Two selected: which one would move? The buttons go.
    ana.locator(f"#image-{KEYS[1]} .card__select").tap()
    expect(mover).to_be_hidden()
    ana.locator("#select-clear").tap()
    assert ana.evaluate("getComputedStyle(document.body).paddingBottom") == "0px"

    # Only its maker is offered the delete: not a teammate.
    bo = browse.open(f"/c/{slug}", view="phone")
    expect(bo.locator("#collection-title")).to_be_visible()
    assert bo.locator("#collection-delete").count() == 0
    expect(bo.get_by_role("button", name="Rename")).to_be_visible()
    browse.expect_failure(f"/api/collections/{slug}")  # the teammate's page asks after it once it is gone
    # Asked first, in the page's own dialog, named by the title as it is now; "Keep it" (focused) and Escape
    # keep it.
    asking = ana.locator("#collection-delete-dialog")
    title = ana.locator("#collection-title").inner_text()
    ana.locator("#collection-delete").tap()
    expect(asking.get_by_role("heading")).to_have_text(f"Delete “{title}”?")
    expect(asking.get_by_role("button", name="Keep it")).to_be_focused()
    asking.get_by_role("button", name="Keep it").tap()
    expect(asking).to_be_hidden()
    ana.locator("#collection-delete").tap()
    expect(asking).to_be_visible()
    ana.keyboard.press("Escape")
    expect(asking).to_be_hidden()
    assert requests.get(f"{live_server.url}/api/collections/{slug}", timeout=5).status_code == 200
    ana.locator("#collection-delete").tap()
    asking.get_by_role("button", name="Delete collection").tap()
    ana.wait_for_url(re.compile(r"/collections$"))
    assert ana.locator(f'.collection-card[data-slug="{slug}"]').count() == 0
    assert requests.get(f"{live_server.url}/api/collections/{slug}", timeout=5).status_code == 404
    # The teammate's page, still open, says so at its next look (and stops asking).
    expect(bo.locator("#collection-gone")).to_contain_text("This collection has been deleted", timeout=20_000)
    # What would change it or fetch it whole is gone from the page; selecting, to keep the images elsewhere, stays.
    expect(bo.get_by_role("button", name="Rename")).to_be_hidden()
    expect(bo.locator(".gallery-head__action")).to_be_hidden()
    expect(bo.locator(".card__select").first).to_be_attached()


@pytest.mark.poll_seconds(0.2)
def test_a_pending_item_of_a_collection_turns_into_its_image_without_a_reload(browse, live_server, emulator):
    set_fault(emulator, PENDING_SECONDS=2)  # pending from the collection's making until well after the page draws
    slug = make(live_server.url, "Still generating", [DONE, sample.PENDING_ID])
    held = []

    def hold(page) -> None:
        page.route(POLLS, lambda route: held.append(route))

    page = browse.open(f"/c/{slug}", before=hold)
    page.evaluate("window.notReloaded = true")
    statuses = page.eval_on_selector_all("#grid > li", "cards => cards.map(c => c.dataset.status)")
    assert statuses == ["done", "pending"]
    for route in held:
        route.continue_()
    page.unroute(POLLS)
    page.wait_for_selector(f'#grid > li[data-task="{sample.PENDING_ID}"][data-status="done"]', timeout=15_000)
    assert page.evaluate("window.notReloaded") is True
    assert shown_keys(page) == [f"{DONE}-0", f"{sample.PENDING_ID}-0"]
    new = page.locator(f"#image-{sample.PENDING_ID}-0")
    expect(new.locator("img")).to_have_attribute("alt", "hot air balloons drifting over a river valley at dawn")
    # It opens in the lightbox like any other, and the heading still says who made the collection.
    new.locator(".card__media").click()
    expect(page.locator("#lightbox")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("by script")


@pytest.mark.poll_seconds(0.2)
def test_a_pending_item_a_teammate_adds_turns_into_its_image_without_a_reload(browse, live_server, emulator):
    # Nothing waits when the page is drawn, so nothing is being asked about when the item arrives with the
    # collection's next version: the page starts asking then.
    set_fault(emulator, PENDING_SECONDS=2)
    slug = make(live_server.url, "Growing", [DONE])
    page = browse.open(f"/c/{slug}")
    page.evaluate("window.notReloaded = true")
    added = requests.post(f"{live_server.url}/api/collections/{slug}/items", json={"items": [sample.PENDING_ID]},
                          timeout=10)
    assert added.status_code == 200, added.text
    page.wait_for_selector(f'#grid > li[data-task="{sample.PENDING_ID}"][data-status="pending"]', timeout=10_000)
    page.wait_for_selector(f'#grid > li[data-task="{sample.PENDING_ID}"][data-status="done"]', timeout=15_000)
    assert page.evaluate("window.notReloaded") is True
    assert shown_keys(page) == [f"{DONE}-0", f"{sample.PENDING_ID}-0"]


def test_add_to_pages_through_every_collection(browse, live_server):
    slugs = [make(live_server.url, f"Batch {n}", []) for n in range(LIST_PAGE + 1)]  # the oldest on page two
    page = browse.open(SMALL)
    page.locator(f"#image-{KEYS[4]} .card__select").click()
    page.locator("#collection-add").click()
    menu = page.locator("#collection-menu")
    expect(menu.locator(".menu__item:not(.menu__more)")).to_have_count(LIST_PAGE)
    older = menu.get_by_role("button", name="Older collections…")
    older.click()
    expect(menu.locator(".menu__item")).to_have_count(LIST_PAGE + 1)
    expect(older).to_have_count(0)
    oldest = menu.locator(f'.menu__item[data-slug="{slugs[0]}"]')
    expect(oldest).to_be_focused()  # the first of the page just brought
    oldest.click()
    give_name(page, "Ana")
    expect(page.locator(".toast")).to_contain_text("1 image added to “Batch 0”")
    items = requests.get(f"{live_server.url}/api/collections/{slugs[0]}", timeout=5).json()["items"]
    assert [item["ref"] for item in items] == [KEYS[4]]


def test_a_compare_link_selects_its_images_without_covering_the_page_with_the_tray(browse):
    keys = [f"{task_id}-0" for task_id in sample.LIGHTHOUSE_IDS[:2]]
    page = browse.open("/tasks/" + ",".join(sample.LIGHTHOUSE_IDS) + "?compare=" + ",".join(keys))
    expect(page.locator("#compare")).to_be_visible()
    for key in keys:
        expect(page.locator(f"#image-{key} .card__select")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#select-tray")).to_be_hidden()  # the comparison shows them already
    assert page.evaluate("getComputedStyle(document.body).paddingBottom") == "0px"
    page.locator(f"#image-{sample.LIGHTHOUSE_IDS[2]}-0 .card__select").click()
    expect(page.locator("#select-count")).to_have_text("3 selected")
    expect(page.locator("#compare-open")).to_have_text("Compare 3")
    assert page.evaluate("parseFloat(getComputedStyle(document.body).paddingBottom)") > 0
