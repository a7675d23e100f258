"""Collections, picks and comments in a real browser: two teammates in two browser contexts over real HTTP.

The selection (check boxes, `x`, shift ranges, "Select all shown") makes a collection; its page is renamed and
reordered in place; a second teammate picks and comments, and the first sees both without a reload. Markup in a
comment stays text; a read-only gallery shows no control that writes.
"""

import re

import pytest
from playwright.sync_api import expect

from browsing import axe_problems, give_name
from flux_emulator import app as sample
from flux_emulator.server import ServerThread
from support import BROWSER_SERVER, gallery_app

DONE, LAKE, MULTI = sample.DONE_ID, sample.LAKE_ID, sample.MULTI_ID
# Seven images: MULTI's four, DONE's one, LAKE's two, in this order.
SMALL = f"/tasks/{MULTI},{DONE},{LAKE}"
KEYS = [f"{MULTI}-{n}" for n in range(4)] + [f"{DONE}-0", f"{LAKE}-0", f"{LAKE}-1"]
LIVE = 0.4  # seconds before a page first polls: live updates within a test's patience


def shown_keys(page) -> list[str]:
    return page.eval_on_selector_all("#grid > li.card--image:not([hidden])", "cards => cards.map(c => c.dataset.key)")


def selected(page) -> list[str]:
    return page.eval_on_selector_all('#grid .card__select[aria-pressed="true"]',
                                     "buttons => buttons.map(b => b.closest('li').dataset.key)")


def api(page, path: str) -> dict:
    """A GET of the JSON API from inside the page (its cookies, its origin)."""
    return page.evaluate("path => fetch(path, {cache: 'no-store'}).then(r => r.json())", path)


@pytest.mark.slow
@pytest.mark.poll_seconds(LIVE)
def test_a_team_makes_a_collection_and_sees_each_others_picks_and_comments(browse, live_server, axe_source):
    ana = browse.open(SMALL)
    # Three cards: a click on the first's check, a shift-click on the third's selects the range between.
    ana.locator(f"#image-{KEYS[0]} .card__select").click()
    ana.locator(f"#image-{KEYS[2]} .card__select").click(modifiers=["Shift"])
    expect(ana.locator("#select-count")).to_have_text("3 selected")
    assert selected(ana) == KEYS[:3]
    expect(ana.locator("#compare-open")).to_have_text("Compare 3")
    ana.locator("#collection-new").click()
    give_name(ana, "Ana")  # her first write asks for her name
    ana.wait_for_url(re.compile(r"/c/[A-Za-z0-9_-]+$"))
    slug = ana.url.rsplit("/", 1)[1]
    assert len(slug) >= 8  # at least 48 bits, as the contract says
    assert shown_keys(ana) == KEYS[:3]
    # Just made: its title is open for typing.
    title = ana.locator("#collection-title-input")
    expect(title).to_be_focused()
    title.fill("Seeds to choose from")
    title.press("Enter")
    expect(ana.locator("#collection-title")).to_have_text("Seeds to choose from")
    expect(ana).to_have_title("Seeds to choose from · Flux Gallery")
    assert api(ana, f"/api/collections/{slug}")["title"] == "Seeds to choose from"
    expect(ana.locator(".me__name")).to_have_text("Ana")

    # Reorder from the keyboard: the first card one place later, and it keeps the focus.
    ana.locator(f"#image-{KEYS[0]} .card__media").focus()
    ana.keyboard.press("Alt+ArrowRight")
    expect(ana.locator("#grid > li.card--image").first).to_have_attribute("data-key", KEYS[1])
    assert shown_keys(ana) == [KEYS[1], KEYS[0], KEYS[2]]
    assert ana.evaluate("document.activeElement.closest('li').dataset.key") == KEYS[0]
    ana.wait_for_function("""([path, key]) => fetch(path, {cache: 'no-store'}).then(r => r.json())
      .then(c => c.items.map(i => i.ref).join() === key)""",
                          arg=[f"/api/collections/{slug}", ",".join([KEYS[1], KEYS[0], KEYS[2]])], timeout=5_000)
    problems = axe_problems(ana, axe_source)
    assert problems == [], "\n".join(problems)

    # Bo opens the short link in a browser of his own, picks an image and comments on it.
    bo = browse.open(f"/c/{slug}")
    assert shown_keys(bo) == [KEYS[1], KEYS[0], KEYS[2]]
    expect(bo.locator("#collection-title")).to_have_text("Seeds to choose from")
    bo.locator(f"#image-{KEYS[0]} .card__media").click()
    expect(bo.locator("#lightbox")).to_be_visible()
    expect(bo.locator("#comments-status")).to_have_text(re.compile("No comments yet"))
    bo.locator("#lightbox-star").click()
    give_name(bo, "Bo")
    expect(bo.locator("#lightbox-star")).to_have_attribute("aria-pressed", "true")
    expect(bo.locator("#lightbox-pickers")).to_have_text("Picked by Bo.")
    body = bo.locator("#comment-body")
    body.fill("This seed wins, see https://example.com/notes.")
    expect(bo.locator("#comment-count")).to_have_text("46 / 2,000")
    bo.locator("#comment-send").click()
    comment = bo.locator("#comments-list .comment")
    expect(comment).to_have_count(1)
    expect(comment.locator(".comment__author")).to_have_text("Bo")
    expect(comment.locator("time")).to_have_text("just now")
    problems = axe_problems(bo, axe_source)
    assert problems == [], "\n".join(problems)

    # Ana sees both on the card, without a reload, and nothing above it moved.
    card = ana.locator(f"#image-{KEYS[0]}")
    top = card.bounding_box()["y"]
    expect(card.locator(".card__star-count")).to_have_text("1", timeout=10_000)
    expect(card.locator(".card__comments-count")).to_have_text("1", timeout=10_000)
    assert card.locator(".card__star").get_attribute("aria-pressed") == "false"  # Bo's pick, not hers
    assert "Picked by Bo" in card.locator(".card__star").get_attribute("aria-label")
    assert card.bounding_box()["y"] == top
    card.locator(".card__media").click()
    expect(ana.locator("#lightbox-pickers")).to_have_text("Picked by Bo.")
    expect(ana.locator("#comments-list .comment .comment__body")).to_have_text(
        "This seed wins, see https://example.com/notes.")
    # Not hers: no way to edit or delete it.
    expect(ana.locator("#comments-list .comment__action")).to_have_count(0)
    # Bo's own comment he can edit (Esc cancels, Enter with Ctrl saves) and delete.
    comment.get_by_role("button", name="Edit").click()
    editor = comment.locator("textarea")
    editor.fill("Changed my mind")
    editor.press("Escape")
    expect(comment.locator(".comment__body")).to_have_text("This seed wins, see https://example.com/notes.")
    expect(bo.locator("#lightbox")).to_be_visible()  # Esc left the edit, not the lightbox
    comment.get_by_role("button", name="Edit").click()
    comment.locator("textarea").fill("Second thoughts: the lake")
    comment.locator("textarea").press("Control+Enter")
    expect(comment.locator(".comment__body")).to_have_text("Second thoughts: the lake")
    expect(comment.locator(".comment__edited")).to_have_count(1)
    # Ana's open lightbox follows.
    expect(ana.locator("#comments-list .comment__body")).to_have_text("Second thoughts: the lake", timeout=10_000)


def test_markup_in_a_comment_shows_as_text_and_links_are_safe(browse):
    page = browse.open(f"{SMALL}?image={KEYS[4]}")
    expect(page.locator("#lightbox")).to_be_visible()
    text = ('<b>bold</b> <img src=x onerror="console.error(1)"> javascript:alert(1) '
            "see http://example.com/a?b=1&c=<i>2</i>")
    page.locator("#comment-body").fill(text)
    page.locator("#comment-send").click()
    give_name(page, "<script>Eve</script>")
    comment = page.locator("#comments-list .comment")
    expect(comment).to_have_count(1)
    body = comment.locator(".comment__body")
    expect(body).to_have_text(text)
    assert body.locator("b, img, i, script").count() == 0
    links = body.locator("a")
    expect(links).to_have_count(1)
    assert links.get_attribute("href") == "http://example.com/a?b=1&c="
    assert set(links.get_attribute("rel").split()) >= {"noopener", "noreferrer", "nofollow", "ugc"}
    assert links.get_attribute("target") == "_blank"
    expect(comment.locator(".comment__author")).to_have_text("<script>Eve</script>")
    # The header shows the name as text too, and a reload draws it from the server's cookie.
    page.goto(SMALL)
    expect(page.locator(".me__name")).to_have_text("<script>Eve</script>")
    expect(page.locator(f"#image-{KEYS[4]} .card__comments-count")).to_have_text("1")


def test_selection_by_keyboard_shift_click_and_select_all_shown(browse):
    page = browse.open(SMALL)
    page.locator(f"#image-{KEYS[0]} .card__media").focus()
    page.keyboard.press("x")
    assert selected(page) == KEYS[:1]
    expect(page.locator("#select-tray")).to_be_visible()
    page.locator(f"#image-{KEYS[2]} .card__media").focus()
    page.keyboard.press("Shift+X")  # the range from the last one
    assert selected(page) == KEYS[:3]
    page.locator(f"#image-{KEYS[1]} .card__media").focus()
    page.keyboard.press("x")  # unselects
    assert selected(page) == [KEYS[0], KEYS[2]]
    # A shift-click runs from the card touched last (the one just unselected) and selects the whole range.
    page.locator(f"#image-{KEYS[5]} .card__select").click(modifiers=["Shift"])
    assert selected(page) == KEYS[:6]
    expect(page.locator("#select-count")).to_have_text("6 selected")
    expect(page.locator("#compare-open")).to_be_hidden()  # six: too many to compare
    expect(page.locator("#announcer")).to_contain_text("added to the selection")
    page.locator("#select-clear").click()
    expect(page.locator("#select-tray")).to_be_hidden()
    # "Select all shown" takes what the filter leaves.
    page.locator("#filter").fill("lake")
    page.locator("#select-all").click()
    assert selected(page) == [key for key in KEYS if key.startswith(LAKE)]
    expect(page.locator("#compare-open")).to_be_visible()
    page.locator("#filter").fill("")
    page.locator("#select-all").click()
    expect(page.locator("#select-count")).to_have_text("7 selected")
    # The selection lasts as long as the tab: a reload keeps it.
    page.reload()
    expect(page.locator("#select-count")).to_have_text("7 selected")


def test_picks_filter_and_most_picked_sort(browse):
    page = browse.open(SMALL)
    page.locator(f"#image-{KEYS[5]} .card__star").click()
    give_name(page, "Ana")
    expect(page.locator(f"#image-{KEYS[5]} .card__star")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#image-{KEYS[5]} .card__star-count")).to_have_text("1")
    page.locator("#sort").select_option("picks")
    assert shown_keys(page)[0] == KEYS[5]
    page.locator("#picks-only").check()
    assert shown_keys(page) == [KEYS[5]]
    expect(page.locator("#filter-status")).to_have_text("1 of 7 cards are picks")
    with page.expect_response(lambda r: "/api/picks/" in r.url and r.request.method == "DELETE"):
        page.locator(f"#image-{KEYS[5]} .card__star").click()  # taken back
    expect(page.locator(f"#image-{KEYS[5]} .card__star")).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(page.locator(f"#image-{KEYS[5]} .card__star-count")).to_have_text("")


@pytest.fixture
def read_only_server(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path / "cache", **BROWSER_SERVER, READ_ONLY=True)
    with ServerThread(app) as server:
        yield server
    app.extensions["gallery"].thumbnailer.wait_idle(30)
    app.extensions["gallery"].close()


def test_a_read_only_gallery_shows_no_control_that_writes(browser, read_only_server, axe_source):
    from browsing import Browse

    session = Browse(browser, read_only_server.url)
    try:
        page = session.open(f"{SMALL}?image={KEYS[0]}")
        expect(page.locator("#lightbox")).to_be_visible()
        assert page.locator('meta[name="csrf-token"]').count() == 0
        for control in ("#lightbox-star", "#comment-form", "#collection-new", "#collection-add", ".me",
                        "#grid button.card__star"):
            assert page.locator(control).count() == 0, control
        expect(page.locator("#comments-status")).to_have_text("No comments yet.")
        page.keyboard.press("Escape")
        # Selecting still compares.
        page.locator(f"#image-{KEYS[0]} .card__select").click()
        page.locator(f"#image-{KEYS[1]} .card__select").click()
        expect(page.locator("#compare-open")).to_be_visible()
        problems = axe_problems(page, axe_source)
        assert problems == [], "\n".join(problems)
    finally:
        session.close()
    assert session.problems == [], "\n".join(session.problems)


def test_a_refused_write_says_why(browse, live_server):
    page = browse.open(SMALL)
    page.locator(f"#image-{KEYS[0]} .card__star").click()
    give_name(page, "Ana")
    expect(page.locator(f"#image-{KEYS[0]} .card__star")).to_have_attribute("aria-pressed", "true")
    # A page whose token went stale: the server refuses, the star goes back, and the reader is told why.
    page.evaluate("document.querySelector('meta[name=csrf-token]').setAttribute('content', 'stale')")
    browse.expect_failure("/api/picks/")
    page.locator(f"#image-{KEYS[1]} .card__star").click()
    expect(page.locator(".toast")).to_contain_text("reload")
    expect(page.locator(f"#image-{KEYS[1]} .card__star")).to_have_attribute("aria-pressed", "false")
