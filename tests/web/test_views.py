"""The pages, JSON route and image routes, end to end against the emulator over real HTTP."""

import io
import json
import time

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from flux_emulator import app as sample
from gallery.web.layout import ROW_HEIGHT
from gallery.web.viewmodels import EAGER_IMAGES
from support import TOKEN, emulator_stats, gallery_app, set_fault

DONE, LAKE, MULTI = sample.DONE_ID, sample.LAKE_ID, sample.MULTI_ID


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def cards(response) -> list[tuple[str, str]]:
    """(task ID, status) of every card, in page order."""
    return [(li["data-task"], li["data-status"]) for li in soup(response).select("ul.grid > li")]


# ---- home ------------------------------------------------------------------------------------------


def test_home_shows_the_form(client):
    page = client.get("/")
    assert page.status_code == 200
    assert soup(page).select_one("form textarea[name=ids]") is not None


@pytest.mark.parametrize("text", [f"{DONE},{LAKE}", f"{DONE}\n{LAKE}", f" {DONE.upper()} {LAKE} {DONE} "])
def test_home_redirects_pasted_ids_to_the_canonical_link(client, text):
    response = client.get("/", query_string={"ids": text})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/tasks/{DONE},{LAKE}"


def test_home_keeps_bad_input_and_says_what_is_wrong(client, emulator):
    response = client.get("/", query_string={"ids": f"{DONE}, not-an-id"})
    assert response.status_code == 400
    page = soup(response)
    assert "not-an-id" in page.select_one("#ids-error").text
    assert "not-an-id" in page.select_one("textarea").text  # nothing the user typed is lost
    assert emulator_stats(emulator)["task_calls"] == 0


# ---- gallery pages ---------------------------------------------------------------------------------


def test_single_task_gallery(client):
    response = client.get(f"/tasks/{DONE}")
    assert response.status_code == 200
    page = soup(response)
    (card,) = page.select("li.card--image")
    record = sample.task_record(sample.SAMPLES[DONE], "http://x/")
    data = record["response"]["data"][0]
    assert data["prompt"] in card.text
    assert str(data["seed"]) in card.text
    assert record["request"]["size"].replace("x", "×") in card.text
    assert record["request"]["model"] in card.text
    img = card.select_one("img")
    assert img["src"] == f"/thumb/{DONE}/0/384"
    assert img["srcset"] == f"/thumb/{DONE}/0/384 384w, /thumb/{DONE}/0/768 768w"
    # The image grid by default: a tile as wide as its shape says, at the row height the stylesheet sets.
    assert img["sizes"] == f"min(100vw, calc(1 * {ROW_HEIGHT}))"  # no "auto": it is not lazy
    assert (img["width"], img["height"]) == ("384", "384")
    assert "ar1000" in card["class"] and img["fetchpriority"] == "high" and not img.get("loading")
    assert img["alt"] == data["prompt"]
    assert card.select_one("a")["href"] == f"/image/{DONE}/0"


def test_the_first_screenful_is_drawn_in_the_first_frame_that_can_and_the_rest_waits(client):
    ids = [sample.synthetic_id(n) for n in range(1, EAGER_IMAGES + 3)]
    images = soup(client.get(f"/tasks/{','.join(ids)}")).select("#grid img")
    first, last = images[EAGER_IMAGES - 1], images[EAGER_IMAGES]
    # Decoded as part of the frame: "async" would leave it for a later frame, after the page's scripts.
    assert first["fetchpriority"] == "high" and not first.get("loading") and not first.get("decoding")
    assert last["loading"] == "lazy" and last["decoding"] == "async" and not last.get("fetchpriority")


def test_several_tasks_one_card_per_image_in_url_order(client, emulator):
    response = client.get(f"/tasks/{MULTI},{DONE},{LAKE}")
    assert response.status_code == 200
    assert [task for task, _ in cards(response)] == [MULTI] * 4 + [DONE] + [LAKE] * 2
    assert "7 images from 3 tasks" in soup(response).select_one(".summary").text
    assert emulator_stats(emulator)["task_calls"] == 1  # one retrieve_batch for the whole gallery


def test_every_status_gets_its_own_card(client):
    ids = [sample.PENDING_ID, sample.FAILED_ID, sample.UNKNOWN_ID, DONE]
    response = client.get("/tasks/" + ",".join(ids))
    assert response.status_code == 200
    assert cards(response) == [(sample.PENDING_ID, "pending"), (sample.FAILED_ID, "failed"),
                               (sample.UNKNOWN_ID, "unknown"), (DONE, "done")]
    failed = soup(response).select_one(f"#task-{sample.FAILED_ID}")
    record = sample.task_record(sample.SAMPLES[sample.FAILED_ID], "http://x/")
    assert "forbidden" in failed.text
    assert record["response"]["error"]["message"] in failed.text
    assert record["response"]["trace_id"] in failed.text
    assert "1 pending · 1 failed · 1 not found" in soup(response).select_one(".summary").text


def test_a_pending_task_becomes_done(client, app):
    first = client.get(f"/tasks/{sample.PENDING_ID}")
    assert cards(first) == [(sample.PENDING_ID, "pending")]
    time.sleep(1.2)  # the emulator finishes it 1 s after it was first asked about
    app.extensions["gallery"].tasks.pending_ttl = 0  # and the gallery re-asks at once
    second = client.get(f"/tasks/{sample.PENDING_ID}")
    assert cards(second)[0] == (sample.PENDING_ID, "done")


def test_non_canonical_links_redirect_and_keep_the_query(client):
    response = client.get(f"/tasks/{DONE.upper()},{LAKE},{DONE}?image=1")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/tasks/{DONE},{LAKE}?image=1"


@pytest.mark.parametrize("ids", ["../x", "abc", f"{DONE},nope", f"{DONE}%2F..%2Fx", f"{DONE}/extra", "%3Cscript%3E"])
def test_bad_ids_are_a_400_that_names_them_with_no_upstream_call(client, emulator, ids):
    response = client.get(f"/tasks/{ids}")
    assert response.status_code == 400
    assert "not a task ID" in response.get_data(as_text=True)
    assert emulator_stats(emulator)["task_calls"] == 0


def test_too_many_ids_is_a_400_that_says_the_limit(client, emulator):
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(101)]
    response = client.get("/tasks/" + ",".join(ids))
    assert response.status_code == 400
    assert "at most 100" in response.get_data(as_text=True)
    assert emulator_stats(emulator)["task_calls"] == 0


def test_a_long_gallery_is_fetched_whole_despite_the_default_batch_limit(client):
    ids = (*sample.SAMPLE_GALLERIES["Everything"], sample.UNKNOWN_ID)
    assert len(ids) > 12
    response = client.get("/tasks/" + ",".join(ids))
    statuses = dict(cards(response))
    assert set(statuses) == set(ids)
    assert statuses[sample.UNKNOWN_ID] == "unknown" and statuses[DONE] == "done"


def test_finished_tasks_are_not_asked_about_twice(client, emulator):
    client.get(f"/tasks/{DONE},{sample.FAILED_ID}")
    client.get(f"/tasks/{DONE},{sample.FAILED_ID}")
    client.get(f"/thumb/{DONE}/0/384")
    assert emulator_stats(emulator)["task_calls"] == 1


def test_hostile_prompts_are_escaped(client, app):
    # Feed the view a hostile record through the service cache, as if the API had returned it.
    from gallery.flux.models import task_from_record

    evil = '<script>alert(1)</script>" onerror="alert(2)'
    record = {"id": DONE, "request": {"prompt": evil},
              "response": {"success": True, "data": [{"image_url": "javascript:alert(3)"}]}}
    app.extensions["gallery"].tasks.keep(task_from_record(DONE, record))
    html = client.get(f"/tasks/{DONE}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'onerror="alert(2)' not in html
    assert "javascript:" not in html


# ---- upstream failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        ("401", 502, "rejected this server's API token"),
        ("500", 502, "not answering"),
        ("503", 502, "not answering"),
        ("malformed", 502, "cannot read"),
        ("html", 502, "cannot read"),
        ("429", 503, "busy"),
    ],
)
def test_upstream_failures_become_clear_error_pages(client, emulator, fault, status, words):
    set_fault(emulator, fault, RETRY_AFTER_SECONDS=0)  # a 429 is retried at once: what it becomes is the point
    response = client.get(f"/tasks/{DONE},{LAKE}")
    assert response.status_code == status
    text = response.get_data(as_text=True)
    assert words in soup(response).text
    assert "Traceback" not in text and TOKEN not in text
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1


def test_a_slow_upstream_is_a_504(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path, API_TIMEOUT=0.3, API_ATTEMPTS=1)
    set_fault(emulator, "slow")
    response = app.test_client().get(f"/tasks/{DONE}")
    assert response.status_code == 504
    assert "took too long" in response.get_data(as_text=True)


def test_unreachable_upstream_is_a_502(tmp_path):
    app = gallery_app("http://127.0.0.1:9", tmp_path, API_ATTEMPTS=1)
    response = app.test_client().get(f"/tasks/{DONE}")
    assert response.status_code == 502


def test_a_transient_failure_is_retried_invisibly(client, emulator):
    set_fault(emulator, ["500", "429"], RETRY_AFTER_SECONDS=0)
    response = client.get(f"/tasks/{DONE},{LAKE}")
    assert response.status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 3


def test_the_page_tells_its_script_when_to_poll_first(emulator, tmp_path):
    grid = soup(gallery_app(emulator.url, tmp_path).test_client().get(f"/tasks/{DONE}")).select_one("#grid")
    assert grid["data-poll-ms"] == "3000"  # the default GALLERY_POLL_SECONDS
    quick = gallery_app(emulator.url, tmp_path / "quick", POLL_SECONDS=0.25)
    assert soup(quick.test_client().get(f"/tasks/{DONE}")).select_one("#grid")["data-poll-ms"] == "250"


def test_a_partial_batch_renders_the_tasks_it_has(client, emulator):
    set_fault(emulator, "partial_batch")
    response = client.get(f"/tasks/{DONE},{LAKE},{MULTI}")
    assert response.status_code == 200
    statuses = [status for _, status in cards(response)]
    assert "done" in statuses and "unknown" in statuses


def test_tasks_the_api_cannot_load_show_as_not_loaded_beside_the_rest(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path, API_ATTEMPTS=1)
    client = app.test_client()
    client.get(f"/tasks/{DONE}")  # kept
    set_fault(emulator, "500")
    page = client.get(f"/tasks/{DONE},{LAKE}")
    assert page.status_code == 200
    assert cards(page) == [(DONE, "done"), (LAKE, "unavailable")]
    card = " ".join(soup(page).select_one(f"#task-{LAKE}").get_text(" ").split())
    assert "Not loaded" in card and "could not be asked about this task just now ( api_error )" in card
    assert "Size" not in card  # nothing is known about it yet
    notice = soup(page).select_one("#stale-notice").get_text(" ", strip=True)
    assert "1 of this gallery's tasks could not be loaded" in notice and "as of" not in notice  # what is shown is fresh
    assert 'http-equiv="refresh"' in page.get_data(as_text=True)  # without the script, the page asks again
    assert soup(page).select_one("#grid")["data-pending"] == "1"  # with it, the script does
    body = client.get(f"/api/tasks/{DONE},{LAKE}").get_json()
    assert body["summary"]["unavailable"] == 1 and body["summary"]["label"] == "1 image from 2 tasks · 1 not loaded"
    assert body["tasks"][1]["error"] == {"code": "api_error", "message": "fetch failed"}
    assert body["tasks"][1]["error_report"] is None  # our trouble reaching the API, nothing to report about the task
    set_fault(emulator, None)
    mended = cards(client.get(f"/tasks/{DONE},{LAKE}"))  # the stand-in was never kept, nor its page
    assert [task for task, _ in mended] == [DONE, LAKE, LAKE] and {status for _, status in mended} == {"done"}


def test_when_no_task_can_be_shown_the_failure_is_the_page(emulator, tmp_path):
    client = gallery_app(emulator.url, tmp_path, API_ATTEMPTS=1).test_client()
    set_fault(emulator, "500")
    page = client.get(f"/tasks/{DONE},{LAKE}")
    assert page.status_code == 502 and "The Flux API is not answering properly" in page.get_data(as_text=True)


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    with client.get(response.headers["Location"]) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


# ---- JSON ------------------------------------------------------------------------------------------


def test_json_route_has_the_same_normalised_data(client):
    ids = [DONE, sample.FAILED_ID, sample.UNKNOWN_ID]
    response = client.get("/api/tasks/" + ",".join(ids))
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["ids"] == ids
    assert body["summary"] == {"images": 1, "tasks": 3, "done": 1, "pending": 0, "failed": 1, "unknown": 1,
                               "unavailable": 0, "label": "1 image from 3 tasks · 1 failed · 1 not found"}
    done, failed, unknown = body["tasks"]
    assert done["status"] == "done" and done["model"] == "flux-dev"
    assert done["images"][0]["thumbnails"] == {"384": f"/thumb/{DONE}/0/384", "768": f"/thumb/{DONE}/0/768"}
    assert done["images"][0]["url"] == f"/image/{DONE}/0"
    assert failed["error"]["code"] == "forbidden"
    assert unknown == {**unknown, "status": "unknown", "images": []}
    for account_field in ("user_id", "credential_id", "application_id", "api_id"):
        assert account_field not in json.dumps(body)


@pytest.mark.parametrize(("path", "status"), [("/api/tasks/nope", 400), ("/api/tasks/" + DONE, 502)])
def test_json_errors_are_json(client, emulator, path, status):
    set_fault(emulator, "500")
    response = client.get(path)
    assert response.status_code == status and response.is_json
    assert response.get_json()["error"]["title"]


# ---- thumbnails and originals ----------------------------------------------------------------------


@pytest.mark.parametrize(("task_id", "size", "expected"), [
    (DONE, 384, (384, 384)), (DONE, 768, (768, 768)), (LAKE, 384, (384, 219)),
    (sample.SEED_STRING_ID, 384, (219, 384)), (sample.FLUX2_ID, 768, (768, 439)),
])
def test_thumbnails_are_webp_of_the_right_size(client, task_id, size, expected):
    response = client.get(f"/thumb/{task_id}/0/{size}")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    image = Image.open(io.BytesIO(response.data))
    assert (image.format, image.size) == ("WEBP", expected)


def test_thumbnails_are_made_once_and_cached_for_good(client, emulator):
    first = client.get(f"/thumb/{LAKE}/1/384")
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = first.headers["ETag"]
    media_after_first = emulator_stats(emulator)["media_calls"]
    second = client.get(f"/thumb/{LAKE}/1/384")
    assert second.data == first.data and second.headers["ETag"] == etag
    other_size = client.get(f"/thumb/{LAKE}/1/768")
    assert other_size.status_code == 200
    assert emulator_stats(emulator)["media_calls"] == media_after_first == 1  # the original is kept too
    not_modified = client.get(f"/thumb/{LAKE}/1/384", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""


def test_image_hosts_never_see_the_token(client, emulator):
    client.get(f"/thumb/{DONE}/0/384")
    assert emulator_stats(emulator)["media_calls"] == 1
    assert TOKEN not in str(emulator_stats(emulator)["last_auth"])


def test_original_route_serves_the_kept_original(client):
    response = client.get(f"/image/{sample.FLUX2_ID}/0")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(response.data)).format == "JPEG"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", [
    f"/thumb/{DONE}/0/100", f"/thumb/{DONE}/1/384", f"/thumb/{DONE}/-1/384", "/thumb/nope/0/384",
    f"/thumb/{sample.PENDING_ID}/0/384", f"/thumb/{sample.FAILED_ID}/0/384", f"/image/{DONE}/9",
    "/thumb?url=http://127.0.0.1/", f"/thumb/{DONE}/0/384/extra",
])
def test_thumbnail_route_answers_only_for_real_images_and_sizes(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("fault", ["404", "truncated", "not_image", "bomb", "redirect_private"])
def test_a_broken_image_gives_a_placeholder_and_is_not_cached(client, app, emulator, fault):
    set_fault(emulator, image_fault=fault)
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Expires"] == "0"
    assert Image.open(io.BytesIO(response.data)).size == (384, 384)
    assert response.headers["X-Image-Error"]
    set_fault(emulator, image_fault=None)
    calls = emulator_stats(emulator)["media_calls"]
    again = client.get(f"/thumb/{DONE}/0/384")  # remembered for a minute: no new fetch
    assert again.status_code == 502 and emulator_stats(emulator)["media_calls"] == calls
    app.extensions["gallery"].originals.failures.clear()  # as if IMAGE_ERROR_TTL had passed
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 200  # the failure was not kept as the image


def test_the_sample_image_that_404s_shows_a_placeholder(client):
    response = client.get(f"/thumb/{sample.BROKEN_IMAGE_ID}/0/384")
    assert response.status_code == 502
    assert "404" in response.headers["X-Image-Error"]


# ---- the token, everywhere -------------------------------------------------------------------------


def test_the_token_appears_in_no_page_json_or_header(client, emulator):
    ids = ",".join(sample.SAMPLE_GALLERIES["Mixed states"])
    responses = [client.get(path) for path in ("/", f"/tasks/{ids}", f"/api/tasks/{ids}", "/healthz",
                                               f"/thumb/{DONE}/0/384", "/nowhere")]
    set_fault(emulator, "401")
    responses.append(client.get(f"/tasks/{LAKE}"))
    for response in responses:
        assert TOKEN.encode() not in response.data
        assert TOKEN not in str(response.headers)


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_a_viewed_gallery_gets_its_thumbnails_made_in_the_background(client, app, emulator):
    client.get(f"/tasks/{MULTI},{DONE},{sample.PENDING_ID}").close()  # as a server does once it is sent
    thumbnailer = app.extensions["gallery"].thumbnailer
    wanted = [thumbnailer.key(task_id, n, size) for task_id, n in [(MULTI, 0), (MULTI, 1), (MULTI, 2), (MULTI, 3),
                                                                    (DONE, 0)] for size in (384, 768)]
    deadline = time.monotonic() + 20
    while not all(thumbnailer.store.path(key).exists() for key in wanted) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(thumbnailer.store.path(key).exists() for key in wanted)
    assert emulator_stats(emulator)["media_calls"] == 5  # one fetch per image, both sizes from it
    assert client.get(f"/thumb/{MULTI}/2/768").status_code == 200
    assert emulator_stats(emulator)["media_calls"] == 5


def test_the_gallery_page_does_not_wait_for_images(client, emulator):
    set_fault(emulator, image_fault="slow", IMAGE_SLOW_SECONDS=5)  # every image takes 5 s to download
    started = time.monotonic()
    assert client.get(f"/tasks/{LAKE}").status_code == 200
    assert time.monotonic() - started < 4  # a page that waited for even one image would take 5 s


# ---- what the page hands the script ----------------------------------------------------------------


def test_prompt_iterations_show_their_differences_without_javascript(client):
    response = client.get("/tasks/" + ",".join(sample.LIGHTHOUSE_IDS))
    page = soup(response)
    marks = [[mark.text for mark in card.select(".card__prompt mark.diff")] for card in page.select("li.card")]
    assert marks == [["oil painting"], ["watercolor"], ["storm clouds", "oil painting"],
                     ["under storm clouds", "oil painting", "crashing waves"]]
    assert page.select_one(".diff-legend") is not None


def test_unrelated_prompts_are_not_highlighted(client):
    page = soup(client.get(f"/tasks/{DONE},{LAKE}"))
    assert not page.select("mark") and page.select_one(".diff-legend") is None


def test_image_cards_carry_their_key_and_regenerate_request(client):
    card = soup(client.get(f"/tasks/{LAKE}")).select("li.card--image")[1]
    assert card["data-key"] == f"{LAKE}-1" and card["id"] == f"image-{LAKE}-1"
    assert card.select_one("img")["srcset"].endswith(f"/thumb/{LAKE}/1/768 768w")  # the lightbox's first look
    assert card["data-full"] == f"/image/{LAKE}/1"
    assert json.loads(card["data-request"]) == {
        "action": "generate", "prompt": "a mountain lake at sunrise, mist over the water, wide landscape",
        "size": "1344x768", "model": "flux-dev", "seed": 90412277}


def test_the_gallery_has_a_card_template_per_status_and_a_lightbox(client):
    page = soup(client.get(f"/tasks/{DONE}"))
    for status in ("done", "pending", "failed", "unknown"):
        template = page.select_one(f"template#card-template-{status}")
        assert template is not None and f'data-status="{status}"' in str(template)
    assert page.select_one("dialog#lightbox") is not None
    assert page.select_one("#grid")["data-api"] == f"/api/tasks/{DONE}"


@pytest.mark.parametrize("path", ["/", f"/tasks/{DONE},{sample.FAILED_ID},{sample.PENDING_ID}", "/nowhere",
                                  "/tasks/nope"])
def test_pages_have_no_inline_script_style_or_handlers(client, path):
    page = soup(client.get(path))
    assert all(script.get("src") for script in page.select("script"))
    assert not page.select("style, [style]")
    assert not [tag for tag in page.find_all(True) if any(name.startswith("on") for name in tag.attrs)]


def test_error_pages_say_what_to_do(client, emulator):
    page = soup(client.get("/nowhere"))
    assert page.select_one(".error-panel__actions a")["href"] == "/"
    set_fault(emulator, "500")
    page = soup(client.get(f"/tasks/{DONE}"))
    retry = page.select_one(".error-panel__actions a")
    assert retry.text.strip() == "Try again" and retry["href"] == f"/tasks/{DONE}"


def test_a_thumbnail_asked_while_another_size_was_being_made_is_still_bytes(app, make_image):
    # The coalesced leader may have made 384 only; whoever waited for 768 must still get 768 bytes.
    thumbnailer = app.extensions["gallery"].thumbnailer
    real = thumbnailer.coalescer

    class LeaderMadeTheSmallSize:
        def do(self, key, fn):
            task = app.extensions["gallery"].tasks.get(DONE)
            return real.do(key, lambda: thumbnailer._make(task, 0, (384,)))

    thumbnailer.coalescer = LeaderMadeTheSmallSize()
    task = app.extensions["gallery"].tasks.get(DONE)
    data = thumbnailer.get(task, 0, 768)
    assert Image.open(io.BytesIO(data)).size == (768, 768)


@pytest.mark.parametrize("root", ["", "/team-gallery"])
def test_fast_urls_match_url_for(app, root):
    from flask import url_for

    from gallery.web.urls import FlaskUrls

    with app.test_request_context("/", base_url=f"http://localhost{root}/"):
        urls = FlaskUrls()
        assert urls.thumb(DONE, 3, 768) == url_for("gallery.thumb", task_id=DONE, index=3, size=768)
        assert urls.image(DONE, 12) == url_for("gallery.image", task_id=DONE, index=12)
        assert urls.thumb(DONE, 0, 384).startswith(f"{root}/thumb/")


@pytest.mark.parametrize("path", [f"/tasks/{DONE},{LAKE}", f"/api/tasks/{DONE},{LAKE}"])
def test_text_is_compressed_for_browsers_that_accept_it(client, path):
    with client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"}) as response:  # as Chromium asks
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] in ("gzip", "br", "zstd", "deflate")
        assert "Accept-Encoding" in response.headers["Vary"]


def test_images_are_not_compressed_again(client):
    response = client.get(f"/thumb/{DONE}/0/384", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers


@pytest.mark.parametrize(("task_id", "extension"), [(DONE, "png"), (sample.FLUX2_ID, "jpg")])
def test_originals_are_named_with_their_extension(client, task_id, extension):
    response = client.get(f"/image/{task_id}/0")
    assert response.headers["Content-Disposition"] == f'inline; filename="flux-{task_id}-0.{extension}"'


def test_a_trailing_slash_redirects_to_the_canonical_link(client):
    response = client.get(f"/tasks/{DONE},{LAKE}/?image={DONE}-0")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/tasks/{DONE},{LAKE}?image={DONE}-0"
    assert client.get(f"/api/tasks/{DONE}/").status_code == 200


def test_the_heading_shows_the_whole_prompt_and_the_title_cuts_it_at_a_word(client):
    page = soup(client.get(f"/tasks/{DONE}"))
    prompt = "a white siamese cat on a sunny windowsill, soft morning light"
    assert page.select_one("h1").get_text() == f"1 image · {prompt}"
    cut = "1 image · a white siamese cat on a sunny windowsill, soft morning…"
    assert page.title.get_text() == f"{cut} · Flux Gallery"
    assert page.find("meta", property="og:title")["content"] == cut
    assert page.find("meta", attrs={"name": "twitter:title"})["content"] == cut
