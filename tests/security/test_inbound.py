"""Inbound requests and rendering: bad IDs and long links, untrusted text in pages, the safe defaults.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""



import io
import json
import zipfile

import pytest
import requests

from flux_emulator import app as sample
from gallery.images.egress import EgressPolicy
from gallery.settings import DEFAULTS
from security_helpers import DONE, LAKE, inject, make_app, record_with, soup
from support import TOKEN, emulator_stats, gunicorn


def test_every_security_default_is_the_safe_one():
    assert DEFAULTS["ALLOW_PRIVATE_IMAGE_HOSTS"] is False
    assert DEFAULTS["IMAGE_HOSTS"] == ""  # any *public* host; the address check always applies
    assert DEFAULTS["IMAGE_TIMEOUT"] <= 10 and DEFAULTS["API_DEADLINE"] <= 15
    assert DEFAULTS["MAX_IMAGE_BYTES"] <= 16 * 1024 * 1024 and DEFAULTS["MAX_IMAGE_PIXELS"] <= 32_000_000
    assert DEFAULTS["API_ATTEMPTS"] <= 3
    assert 0 < DEFAULTS["RATE_LIMIT"] <= 60 and 0 < DEFAULTS["IMAGE_RATE_LIMIT"] <= 600
    assert DEFAULTS["PROXY_HOPS"] == 0  # X-Forwarded-For is not trusted unless asked
    assert DEFAULTS["IMAGE_ERROR_TTL"] >= 60
    assert 0 < DEFAULTS["CACHE_MAX_BYTES"] <= 1024 ** 3
    assert DEFAULTS["THUMB_QUEUE"] > 0
    policy = EgressPolicy()
    assert not policy.allow_private and not policy.allow_loopback and not policy.trusted
    assert policy.ports == {80, 443}




@pytest.mark.parametrize("ids", ["../x", "x%2Fy", "a%3Fb", "a" * 37, "NOT-A-UUID-AT-ALL", f"{DONE}0"])
def test_case_01_bad_ids_are_400_with_no_upstream_call(client, emulator, ids):
    assert client.get(f"/tasks/{ids}").status_code == 400
    assert client.get(f"/api/tasks/{ids}").status_code == 400
    assert emulator_stats(emulator)["task_calls"] == 0


def test_case_02_too_many_ids_is_400_and_repeats_are_one_batch(emulator, tmp_path):
    app = make_app(emulator, tmp_path, MAX_IDS=50)
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(51)]
    client = app.test_client()
    assert client.get("/tasks/" + ",".join(ids)).status_code == 400
    assert emulator_stats(emulator)["task_calls"] == 0
    response = client.get(f"/tasks/{DONE},{DONE},,{LAKE},")
    assert response.status_code == 301 and response.headers["Location"] == f"/tasks/{DONE},{LAKE}"
    client.get(response.headers["Location"])
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_03_a_very_long_url_is_a_4xx_not_a_500(client):
    assert 400 <= client.get("/tasks/" + "a" * 5000).status_code < 500
    many = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(200)]
    assert 400 <= client.get("/tasks/" + ",".join(many)).status_code < 500


@pytest.mark.slow
def test_case_03_under_gunicorn_too(emulator, tmp_path):
    many = ",".join(f"{n:08x}-0000-4000-8000-000000000000" for n in range(150))  # 5.5 kB: past 4094, to the app
    huge = ",".join(f"{n:08x}-0000-4000-8000-000000000000" for n in range(300))  # 11 kB: past gunicorn's line limit
    with gunicorn({"ACEDATACLOUD_API_BASE_URL": emulator.url, "ACEDATACLOUD_API_TOKEN": TOKEN,
                   "GALLERY_CACHE_DIR": str(tmp_path)}, "--workers", "1") as url:
        too_many = requests.get(f"{url}/tasks/{many}", timeout=10)
        assert too_many.status_code == 400 and "at most 100" in too_many.text.replace("\n", " ")
        assert requests.get(f"{url}/tasks/{huge}", timeout=10).status_code == 414
        assert requests.get(f"{url}/tasks/{'a' * 20000}", timeout=10).status_code == 414
    assert emulator_stats(emulator)["task_calls"] == 0


def test_case_04_script_in_a_prompt_is_escaped_under_a_csp(app, client):
    inject(app, DONE, record_with(prompt="<script>alert(1)</script>"))
    response = client.get(f"/tasks/{DONE}")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_case_05_quotes_in_a_prompt_cannot_break_an_attribute(app, client):
    prompt = '" onerror=alert(1) x="'
    inject(app, DONE, record_with(prompt=prompt))
    img = soup(client.get(f"/tasks/{DONE}")).select_one("li.card--image img")
    assert img["alt"] == prompt
    assert "onerror" not in img.attrs and "x" not in img.attrs


def test_case_06_no_inline_script_exists_for_a_prompt_to_close(app, client):
    inject(app, DONE, record_with(prompt="</script><script>alert(1)</script>"))
    page = client.get(f"/tasks/{DONE}")
    for script in soup(page).find_all("script"):
        assert script.get("src") and not script.string  # every script is a file; CSP forbids inline ones
    assert "</script><script>alert" not in page.get_data(as_text=True)
    body = client.get(f"/api/tasks/{DONE}")
    assert body.mimetype == "application/json" and body.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "ftp://x.example/a.png",
                                 "https://user:pw@x.example/a.png", 42])
def test_case_07_unsafe_image_urls_are_never_emitted_and_show_a_placeholder_card(app, client, emulator, url):
    inject(app, DONE, record_with(image_url=url))
    page = client.get(f"/tasks/{DONE}")
    html = page.get_data(as_text=True)
    if isinstance(url, str):
        assert url not in html
    else:  # a number is no address and must not become one; its digits may be anywhere (a file's hash, say)
        assert all(value != str(url) for tag in soup(page).find_all(True) for value in tag.attrs.values())
    card = soup(page).select_one("li.card--image")
    assert "Image could not be loaded: the task gives no usable image address" in " ".join(card.text.split())
    assert card.select_one("img") is None
    assert client.get(f"/api/tasks/{DONE}").get_json()["tasks"][0]["images"][0]["source_url"] is None
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 502
    assert emulator_stats(emulator)["media_calls"] == 0


def test_case_07_an_image_with_no_usable_address_gives_one_reason_on_every_route(emulator, tmp_path):
    reason = "the task gives no usable image address"
    thumb_app, preview_app, zip_app = (make_app(emulator, tmp_path / name) for name in ("t", "p", "z"))
    for app in (thumb_app, preview_app, zip_app):
        inject(app, DONE, record_with(image_url="javascript:alert(1)"))
    assert thumb_app.test_client().get(f"/thumb/{DONE}/0/384").headers["X-Image-Error"] == reason
    assert preview_app.test_client().get(f"/preview/{DONE}").status_code == 200  # a broken tile
    assert preview_app.extensions["gallery"].originals.failure(DONE, 0) == reason
    with zip_app.test_client().get(f"/download/{DONE}") as response:
        archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert [row["error"] for row in json.loads(archive.read("manifest.json"))] == [reason]
    assert emulator_stats(emulator)["media_calls"] == 0


def test_case_08_upstream_error_messages_are_escaped(app, client):
    inject(app, sample.FAILED_ID, {"id": sample.FAILED_ID, "request": {"prompt": "p"}, "response": {
        "success": False, "error": {"code": "bad<b>", "message": "<img src=x onerror=alert(1)>"}}})
    html = client.get(f"/tasks/{sample.FAILED_ID}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "bad<b>" not in html


def test_case_09_account_fields_never_reach_a_page_or_json(client):
    record = sample.task_record(sample.SAMPLES[DONE], "http://x/")
    for path in (f"/tasks/{DONE}", f"/api/tasks/{DONE}"):
        text = client.get(path).get_data(as_text=True)
        for key in ("user_id", "credential_id", "application_id", "api_id"):
            assert record[key] not in text
