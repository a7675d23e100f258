"""Tests for the Flux Tasks API emulator, talking to it over real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from flux_emulator import app as emulator
from flux_emulator import artwork
from flux_emulator.app import HOOK_KEYS, SAMPLE_GALLERIES, SAMPLE_IDS, SAMPLES, EmulatorServer, create_emulator

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT = 10
PENDING = 0.4
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# Fault delays shrunk so the whole file stays fast; the defaults are 3 s, 30 s and 5 s.
DELAYS = {"SLOW_SECONDS": 0.3, "HANG_SECONDS": 2.0, "IMAGE_SLOW_SECONDS": 0.3}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """One emulator for the module, on a free port."""
    with EmulatorServer(config={"TOKEN": TOKEN, **DELAYS}) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(server: EmulatorServer) -> None:
    """Each test starts with no faults, a short pending time, and fresh counters."""
    settings = {"FAULT": None, "IMAGE_FAULT": None, "PENDING_SECONDS": PENDING,
                "RETRY_AFTER_SECONDS": emulator.DEFAULT_CONFIG["RETRY_AFTER_SECONDS"]}
    requests.post(f"{server.url}/_emulator/config", json=settings, timeout=TIMEOUT).raise_for_status()
    requests.post(f"{server.url}/_emulator/reset", timeout=TIMEOUT).raise_for_status()


def call(server: EmulatorServer, body: Any, headers: dict[str, str] | None = None,
         timeout: float = TIMEOUT) -> requests.Response:
    """POST /flux/tasks with the right token unless other headers are given."""
    return requests.post(f"{server.url}/flux/tasks", json=body, headers=AUTH if headers is None else headers,
                         timeout=timeout)


def configure(server: EmulatorServer, **settings: Any) -> None:
    """Change settings through the runtime hook."""
    requests.post(f"{server.url}/_emulator/config", json=settings, timeout=TIMEOUT).raise_for_status()


def stats(server: EmulatorServer) -> dict[str, Any]:
    """The emulator's call counters."""
    return requests.get(f"{server.url}/_emulator/stats", timeout=TIMEOUT).json()


def image_urls(record: dict[str, Any]) -> list[str]:
    """Every image URL of a task record."""
    return [item["image_url"] for item in record.get("response", {}).get("data", [])]


def assert_envelope(response: requests.Response, status: int, code: str, message: str | None = None) -> None:
    """The platform's error envelope: success false, error code and message, a uuid trace id."""
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if message is not None:
        assert body["error"]["message"] == message
    assert UUID4.fullmatch(body["trace_id"])


# --- the catalogue --------------------------------------------------------------------------------------------


def test_catalogue_ids_are_fixed_uuid4s_covering_every_shape() -> None:
    assert len(SAMPLE_IDS) >= 12 and len(set(SAMPLE_IDS)) == len(SAMPLE_IDS) == len(SAMPLES)
    assert set(SAMPLE_IDS) == set(SAMPLES)
    assert all(UUID4.fullmatch(task_id) for task_id in SAMPLE_IDS)
    samples = list(SAMPLES.values())
    assert {s.shape for s in samples} == {"siliconflow", "fal", "flux2"}
    assert {len(s.seeds) for s in samples} >= {0, 1, 2, 4}
    assert any(isinstance(seed, str) for s in samples for seed in s.seeds)
    assert any("size" not in s.request and "model" not in s.request for s in samples)
    sizes = {s.request.get("size") for s in samples}
    assert {"1024x1024", "1344x768", "768x1344", "16:9", "9:16", "3:2"} <= sizes
    assert any(len(s.request["prompt"]) >= 300 for s in samples)
    assert sum(not s.request["prompt"].isascii() for s in samples) >= 2
    assert {s.waits for s in samples} >= {"pending", "snapshot"}
    assert {s.error["code"] for s in samples if s.error} == {"forbidden", "api_error"}
    assert any(s.broken for s in samples)
    assert any(s.request["action"] == "edit" and s.request["image_url"].startswith("/media/") for s in samples)
    created = [s.created_at for s in samples]
    assert 2 * 86400 < max(created) - min(created) < 10 * 86400


def test_sample_galleries_are_named_subsets() -> None:
    assert 3 <= len(SAMPLE_GALLERIES) <= 4
    assert SAMPLE_GALLERIES["Everything"] == SAMPLE_IDS
    mixed = SAMPLE_GALLERIES["Mixed states"]
    assert emulator.UNKNOWN_ID in mixed and emulator.UNKNOWN_ID not in SAMPLES
    assert {emulator.PENDING_ID, emulator.FAILED_ID, emulator.DONE_ID} <= set(mixed)
    iterations = [SAMPLES[i].request["prompt"] for i in SAMPLE_GALLERIES["Prompt iterations"]]
    assert len(iterations) >= 3 and all(p.startswith("a lighthouse at dusk") for p in iterations)
    for ids in SAMPLE_GALLERIES.values():
        assert set(ids) - {emulator.UNKNOWN_ID} <= set(SAMPLE_IDS)


# --- auth and validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "status", "code", "message"), [
    ({}, 400, "no_token", "No token specified for the request."),
    ({"Authorization": "Bearer wrong"}, 401, "invalid_token", "The specified token is invalid or wrong."),
    ({"Authorization": TOKEN}, 401, "invalid_token", None),
])
def test_auth_errors(server: EmulatorServer, headers: dict[str, str], status: int, code: str,
                     message: str | None) -> None:
    assert_envelope(call(server, {"id": emulator.DONE_ID}, headers=headers), status, code, message)


def test_auth_header_name_and_scheme_are_case_insensitive(server: EmulatorServer) -> None:
    response = call(server, {"id": emulator.DONE_ID}, headers={"authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200 and response.json()["id"] == emulator.DONE_ID


@pytest.mark.parametrize(("body", "code", "message"), [
    ("not json", "bad_request", "The json payload is not valid to request the API"),
    (["a", "list"], "bad_request", "The json payload is not valid to request the API"),
    ({"action": "delete_everything", "id": emulator.DONE_ID}, "api_not_implemented", "The API is not implemented."),
    ({"action": "retrieve"}, "bad_request", "id is required."),
    ({"action": "retrieve_batch"}, "bad_request", None),
    ({"action": "retrieve_batch", "ids": emulator.DONE_ID}, "bad_request", None),
    ({"action": "retrieve_batch", "ids": [emulator.DONE_ID], "limit": -1}, "bad_request", None),
])
def test_bad_requests(server: EmulatorServer, body: Any, code: str, message: str | None) -> None:
    if isinstance(body, str):
        response = requests.post(f"{server.url}/flux/tasks", data=body, timeout=TIMEOUT,
                                 headers={**AUTH, "Content-Type": "application/json"})
    else:
        response = call(server, body)
    assert_envelope(response, 400, code, message)


def test_unknown_api_path_answers_no_api(server: EmulatorServer) -> None:
    response = requests.post(f"{server.url}/flux/nothing", json={}, headers=AUTH, timeout=TIMEOUT)
    assert_envelope(response, 404, "no_api")


# --- retrieve -------------------------------------------------------------------------------------------------


def test_retrieve_known_task_is_a_full_record(server: EmulatorServer) -> None:
    response = call(server, {"action": "retrieve", "id": emulator.DONE_ID})
    assert response.status_code == 200
    record = response.json()
    assert record["id"] == emulator.DONE_ID and record["type"] == "images"
    assert re.fullmatch(r"[0-9a-f]{24}", record["_id"])
    for key in ("user_id", "credential_id", "application_id", "api_id", "trace_id"):
        assert UUID4.fullmatch(record[key])
    assert all(isinstance(record[key], float) for key in ("created_at", "started_at", "finished_at", "elapsed"))
    assert record["created_at"] < record["started_at"] < record["finished_at"]
    assert record["request"]["prompt"] == record["response"]["data"][0]["prompt"]
    response_body = record["response"]
    assert response_body["success"] is True and response_body["task_id"] == record["id"]
    item = response_body["data"][0]
    assert isinstance(item["seed"], int) and isinstance(item["timings"]["inference"], float)
    assert item["image_url"] == f"{server.url}/media/{emulator.DONE_ID}/0.png"


def test_action_defaults_to_retrieve(server: EmulatorServer) -> None:
    assert call(server, {"id": emulator.DONE_ID}).json()["id"] == emulator.DONE_ID


def test_retrieve_unknown_id_is_200_empty_object(server: EmulatorServer) -> None:
    response = call(server, {"action": "retrieve", "id": emulator.UNKNOWN_ID})
    assert response.status_code == 200 and response.json() == {}


@pytest.mark.parametrize(("task_id", "check"), [
    (emulator.FAL_ID, lambda item: "seed" not in item and isinstance(item["timings"], int)),
    (emulator.FLUX2_ID, lambda item: set(item) == {"image_url"} and item["image_url"].endswith(".jpg")),
    (emulator.SEED_STRING_ID, lambda item: isinstance(item["seed"], str)),
])
def test_data_item_shapes_of_each_era(server: EmulatorServer, task_id: str, check: Any) -> None:
    record = call(server, {"id": task_id}).json()
    assert all(check(item) for item in record["response"]["data"])


def test_request_is_echoed_as_sent(server: EmulatorServer) -> None:
    no_size = call(server, {"id": emulator.NO_SIZE_ID}).json()["request"]
    assert "size" not in no_size and "model" not in no_size
    edit = call(server, {"id": emulator.EDIT_ID}).json()["request"]
    assert edit["action"] == "edit" and edit["image_url"] == f"{server.url}/media/{emulator.DONE_ID}/0.png"
    assert requests.get(edit["image_url"], timeout=TIMEOUT).status_code == 200


def test_image_urls_follow_the_host_that_answered(server: EmulatorServer) -> None:
    record = call(server, {"id": emulator.LAKE_ID}, headers={**AUTH, "Host": "gallery.test:8080"}).json()
    assert image_urls(record) == [f"http://gallery.test:8080/media/{emulator.LAKE_ID}/{n}.png" for n in (0, 1)]


@pytest.mark.parametrize("task_id", [emulator.FAILED_ID, emulator.FAILED_API_ERROR_ID])
def test_failed_tasks(server: EmulatorServer, task_id: str) -> None:
    record = call(server, {"id": task_id}).json()
    assert record["finished_at"] and record["elapsed"]
    body = record["response"]
    assert body["success"] is False and "data" not in body
    assert body["trace_id"] == record["trace_id"] and body["error"] == SAMPLES[task_id].error


# --- retrieve_batch -------------------------------------------------------------------------------------------


def batch(server: EmulatorServer, ids: list[str], **extra: Any) -> dict[str, Any]:
    """A successful retrieve_batch answer."""
    response = call(server, {"action": "retrieve_batch", "ids": ids, **extra})
    assert response.status_code == 200
    return response.json()


def test_batch_is_newest_first_and_cut_to_12_by_default(server: EmulatorServer) -> None:
    ids = [*SAMPLE_IDS, emulator.UNKNOWN_ID]
    body = batch(server, ids)
    assert body["count"] == len(SAMPLE_IDS) > 12
    assert len(body["items"]) == 12
    created = [item["created_at"] for item in body["items"]]
    assert created == sorted(created, reverse=True)
    assert created[0] == max(s.created_at for s in SAMPLES.values())


def test_batch_limit_offset_and_unknown_ids(server: EmulatorServer) -> None:
    ids = [emulator.UNKNOWN_ID, *SAMPLE_IDS, emulator.DONE_ID]  # a repeat counts once
    everything = batch(server, ids, limit=50)
    assert everything["count"] == len(SAMPLE_IDS) == len(everything["items"])
    assert {item["id"] for item in everything["items"]} == set(SAMPLE_IDS)
    rest = batch(server, ids, limit=50, offset=12)
    assert [i["id"] for i in rest["items"]] == [i["id"] for i in everything["items"]][12:]
    assert batch(server, [emulator.UNKNOWN_ID]) == {"items": [], "count": 0}


@pytest.mark.parametrize(("filters", "expected"), [
    ({"type": "images"}, len(SAMPLE_IDS)),
    ({"type": "videos"}, 0),
    ({"user_id": emulator.ACCOUNT["user_id"]}, len(SAMPLE_IDS)),
    ({"created_at_min": SAMPLES[emulator.PENDING_ID].created_at}, 2),
])
def test_batch_filters(server: EmulatorServer, filters: dict[str, Any], expected: int) -> None:
    assert batch(server, list(SAMPLE_IDS), limit=50, **filters)["count"] == expected


# --- pending tasks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", [emulator.PENDING_ID, emulator.SNAPSHOT_ID])
def test_pending_task_finishes_after_pending_seconds(server: EmulatorServer, task_id: str) -> None:
    first = call(server, {"id": task_id}).json()
    assert "finished_at" not in first and "elapsed" not in first and first["started_at"]
    if task_id == emulator.SNAPSHOT_ID:
        assert first["response"] == {"success": True, "task_id": task_id}
    else:
        assert "response" not in first
    time.sleep(PENDING + 0.1)
    done = batch(server, [task_id])["items"][0]
    assert done["response"]["success"] is True and done["response"]["data"]
    assert done["finished_at"] > done["started_at"]
    requests.post(f"{server.url}/_emulator/reset", timeout=TIMEOUT).raise_for_status()
    assert "finished_at" not in call(server, {"id": task_id}).json()


def test_pending_seconds_zero_means_done_at_once(server: EmulatorServer) -> None:
    configure(server, PENDING_SECONDS=0)
    assert call(server, {"id": emulator.PENDING_ID}).json()["response"]["success"] is True


# --- images ---------------------------------------------------------------------------------------------------


def test_every_sample_image_has_the_requested_size_and_format(server: EmulatorServer) -> None:
    records = batch(server, list(SAMPLE_IDS), limit=50)["items"]
    checked = 0
    for record in records:
        if record["id"] == emulator.BROKEN_IMAGE_ID or "data" not in record.get("response", {}):
            continue
        expected_size = artwork.size_for(record["request"].get("size"))
        for url in image_urls(record):
            response = requests.get(url, timeout=TIMEOUT)
            assert response.status_code == 200
            assert int(response.headers["Content-Length"]) == len(response.content)
            image = Image.open(io.BytesIO(response.content))
            expected_format = "JPEG" if url.endswith(".jpg") else "PNG"
            assert (image.format, image.size) == (expected_format, expected_size)
            assert response.headers["Content-Type"] == Image.MIME[expected_format]
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize(("size", "expected"), [
    ("1024x1024", (1024, 1024)), ("1344x768", (1344, 768)), ("768x1344", (768, 1344)),
    ("16:9", (1344, 768)), ("9:16", (768, 1344)), ("3:2", (1248, 832)), ("1:1", (1024, 1024)),
    (None, (1024, 1024)), ("", (1024, 1024)), ("huge", (1024, 1024)), ("99999x10", (2048, 64)),
])
def test_size_for(size: str | None, expected: tuple[int, int]) -> None:
    assert artwork.size_for(size) == expected


def test_drawing_is_deterministic_by_seed() -> None:
    draw = artwork.render.__wrapped__  # bypass the cache so the bytes are really drawn twice
    first = draw(7, 320, 192, "a lighthouse at dusk", "PNG")
    assert first == draw(7, 320, 192, "a lighthouse at dusk", "PNG")
    assert first != draw(8, 320, 192, "a lighthouse at dusk", "PNG")
    assert Image.open(io.BytesIO(draw(7, 320, 192, "", "JPEG"))).format == "JPEG"


def test_media_is_identical_across_requests(server: EmulatorServer) -> None:
    url = f"{server.url}/media/{emulator.MULTI_ID}/3.png"
    assert requests.get(url, timeout=TIMEOUT).content == requests.get(url, timeout=TIMEOUT).content


@pytest.mark.parametrize("path", [
    f"{emulator.BROKEN_IMAGE_ID}/0.png",  # the sample whose upstream URL has expired
    f"{emulator.UNKNOWN_ID}/0.png",
    f"{emulator.DONE_ID}/1.png",
    f"{emulator.DONE_ID}/0.jpg",
    f"{emulator.FAILED_ID}/0.png",
])
def test_missing_media_is_404(server: EmulatorServer, path: str) -> None:
    assert requests.get(f"{server.url}/media/{path}", timeout=TIMEOUT).status_code == 404


# --- faults ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "status", "code"), [
    ("429", 429, "too_many_requests"),
    ("500", 500, "api_error"),
    ("503", 503, "service_unavailable"),
    ("401", 401, "invalid_token"),
])
def test_error_faults(server: EmulatorServer, fault: str, status: int, code: str) -> None:
    configure(server, FAULT=fault)
    response = call(server, {"id": emulator.DONE_ID})
    assert_envelope(response, status, code)
    assert response.headers.get("Retry-After") == ("1" if fault == "429" else None)
    if fault == "500":
        assert response.json()["error"]["message"] == "fetch failed"


def test_the_429_fault_says_the_retry_after_it_is_given(server: EmulatorServer) -> None:
    configure(server, FAULT="429", RETRY_AFTER_SECONDS=7)
    assert call(server, {"id": emulator.DONE_ID}).headers["Retry-After"] == "7"


def test_malformed_fault_is_cut_off_json(server: EmulatorServer) -> None:
    configure(server, FAULT="malformed")
    response = call(server, {"id": emulator.DONE_ID})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.text == '{"items": ['
    with pytest.raises(ValueError):
        response.json()


def test_html_fault_is_an_html_page(server: EmulatorServer) -> None:
    configure(server, FAULT="html")
    response = call(server, {"id": emulator.DONE_ID})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_slow_fault_answers_late_but_normally(server: EmulatorServer) -> None:
    configure(server, FAULT="slow")
    started = time.monotonic()
    response = call(server, {"id": emulator.DONE_ID})
    assert time.monotonic() - started >= DELAYS["SLOW_SECONDS"]
    assert response.json()["id"] == emulator.DONE_ID


def test_hang_fault_outlasts_a_client_timeout(server: EmulatorServer) -> None:
    configure(server, FAULT="hang")
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(server, {"id": emulator.DONE_ID}, timeout=0.3)


def test_partial_batch_drops_every_second_item(server: EmulatorServer) -> None:
    configure(server, FAULT="partial_batch")
    ids = list(emulator.LIGHTHOUSE_IDS)
    body = batch(server, ids, limit=50)
    newest_first = sorted(ids, key=lambda i: SAMPLES[i].created_at, reverse=True)
    assert [item["id"] for item in body["items"]] == newest_first[::2]
    assert body["count"] == len(ids)


def test_fault_list_is_consumed_one_per_call(server: EmulatorServer) -> None:
    configure(server, FAULT=["429", "500"])
    statuses = [call(server, {"id": emulator.DONE_ID}).status_code for _ in range(4)]
    assert statuses == [429, 500, 200, 200]
    assert requests.post(f"{server.url}/_emulator/config", json={}, timeout=TIMEOUT).json()["FAULT"] is None


def media_url(server: EmulatorServer, task_id: str = emulator.DONE_ID, name: str = "0.png") -> str:
    """URL of a sample image on this server."""
    return f"{server.url}/media/{task_id}/{name}"


def real_image(server: EmulatorServer) -> bytes:
    """The fault-free bytes of the default sample image."""
    spec = emulator.IMAGE_SPECS[emulator.DONE_ID, "0.png"]
    return artwork.render(spec.seed, spec.width, spec.height, spec.prompt, spec.fmt)


def check_404(server: EmulatorServer, response: requests.Response) -> None:
    assert response.status_code == 404


def check_bomb(server: EmulatorServer, response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "image/png"
    assert len(response.content) < 1_000_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(response.content))


def check_truncated(server: EmulatorServer, response: requests.Response) -> None:
    real = real_image(server)
    assert response.content == real[: len(real) // 2]
    with pytest.raises(OSError), Image.open(io.BytesIO(response.content)) as image:
        image.load()


def check_not_image(server: EmulatorServer, response: requests.Response) -> None:
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")


def check_mislabelled(server: EmulatorServer, response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).format == "JPEG"


def check_redirect(server: EmulatorServer, response: requests.Response) -> None:
    assert response.status_code == 302 and response.headers["Location"] == "http://10.0.0.1/x.png"


def check_slow(server: EmulatorServer, response: requests.Response) -> None:
    assert response.elapsed.total_seconds() >= DELAYS["IMAGE_SLOW_SECONDS"]
    assert response.content == real_image(server)


@pytest.mark.parametrize(("fault", "check"), [
    ("404", check_404),
    ("bomb", check_bomb),
    ("truncated", check_truncated),
    ("not_image", check_not_image),
    ("mislabelled", check_mislabelled),
    ("redirect_private", check_redirect),
    ("slow", check_slow),
])
def test_image_faults(server: EmulatorServer, fault: str, check: Any) -> None:
    configure(server, IMAGE_FAULT=fault)
    check(server, requests.get(media_url(server), allow_redirects=False, timeout=TIMEOUT))


def test_huge_image_fault_streams_30_mb(server: EmulatorServer) -> None:
    configure(server, IMAGE_FAULT="huge")
    with requests.get(media_url(server), stream=True, timeout=TIMEOUT) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert "Content-Length" not in response.headers
        chunks = response.iter_content(1024 * 1024)
        first = next(chunks)
        assert first.startswith(b"\x89PNG")
        total = len(first) + sum(len(chunk) for chunk in chunks)
    assert total == 30 * 1024 * 1024


def test_image_fault_list_then_normal(server: EmulatorServer) -> None:
    configure(server, IMAGE_FAULT=["404"])
    assert requests.get(media_url(server), timeout=TIMEOUT).status_code == 404
    assert requests.get(media_url(server), timeout=TIMEOUT).status_code == 200


# --- hooks and stats ------------------------------------------------------------------------------------------


def test_stats_count_calls_and_keep_the_last_media_authorization(server: EmulatorServer) -> None:
    assert stats(server) == {"task_calls": 0, "generate_calls": 0, "media_calls": 0, "last_auth": None,
                             "callbacks": []}
    call(server, {"id": emulator.DONE_ID})
    call(server, {"id": emulator.DONE_ID}, headers={})
    requests.get(media_url(server), headers={"Authorization": "Bearer leaked"}, timeout=TIMEOUT)
    assert stats(server) == {"task_calls": 2, "generate_calls": 0, "media_calls": 1, "last_auth": "Bearer leaked",
                             "callbacks": []}
    requests.get(media_url(server), timeout=TIMEOUT)
    assert stats(server)["last_auth"] is None


@pytest.mark.parametrize("settings", [
    {"TOKEN": "stolen"},
    {"FAULT": "no-such-fault"},
    {"IMAGE_FAULT": ["bomb", "nope"]},
    {"PENDING_SECONDS": -1},
    {"RETRY_AFTER_SECONDS": 0.5},
])
def test_config_hook_rejects_other_keys_and_bad_values(server: EmulatorServer, settings: dict[str, Any]) -> None:
    response = requests.post(f"{server.url}/_emulator/config", json=settings, timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"]
    assert call(server, {"id": emulator.DONE_ID}).status_code == 200


def test_config_hook_echoes_current_values(server: EmulatorServer) -> None:
    response = requests.post(f"{server.url}/_emulator/config", json={"PENDING_SECONDS": 2.5}, timeout=TIMEOUT)
    echoed = response.json()
    assert set(echoed) == set(HOOK_KEYS)
    assert {key: echoed[key] for key in ("FAULT", "IMAGE_FAULT", "PENDING_SECONDS")} == {
        "FAULT": None, "IMAGE_FAULT": None, "PENDING_SECONDS": 2.5}


def test_create_emulator_defaults_and_validation() -> None:
    app = create_emulator()
    assert app.config["TOKEN"] == "emulator-token" and app.config["PENDING_SECONDS"] == 20.0
    assert app.config["BATCH_DEFAULT_LIMIT"] == 12 and app.config["FAULT"] is None
    with pytest.raises(ValueError):
        create_emulator({"FAULT": "sometimes"})


def test_server_picks_a_free_port_and_applies_config() -> None:
    with EmulatorServer(config={"BATCH_DEFAULT_LIMIT": 3}) as small:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", small.url) and small.port != 0
        body = requests.post(f"{small.url}/flux/tasks", json={"action": "retrieve_batch", "ids": list(SAMPLE_IDS)},
                             headers={"Authorization": "Bearer emulator-token"}, timeout=TIMEOUT).json()
        assert len(body["items"]) == 3


def test_command_line_prints_url_and_token() -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "flux_emulator", "--port", "0", "--token", "cli-token",
               "--fault", "429,500"]
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
            assert "cli-token" in proc.stdout.readline()
            statuses = [requests.post(f"{url}/flux/tasks", json={"id": emulator.DONE_ID}, timeout=TIMEOUT,
                                      headers={"Authorization": "Bearer cli-token"}).status_code for _ in range(3)]
            assert statuses == [429, 500, 200]
        finally:
            proc.terminate()
            proc.wait(timeout=TIMEOUT)


def test_trace_ids_are_fresh_per_error(server: EmulatorServer) -> None:
    first, second = (call(server, {}, headers={}).json()["trace_id"] for _ in range(2))
    assert first != second and uuid.UUID(first).version == 4


@pytest.mark.parametrize(("kind", "size"), [(0, (1024, 1024)), (1, (2048, 2048)), (2, (1344, 768))])
def test_synthetic_ids_are_finished_tasks_of_the_chosen_size(server: EmulatorServer, kind: int,
                                                              size: tuple[int, int]) -> None:
    task_id = emulator.synthetic_id(77, kind)
    record = call(server, {"action": "retrieve", "id": task_id}).json()
    assert record["id"] == task_id and record["response"]["data"][0]["seed"] == 77
    (url,) = image_urls(record)
    image = Image.open(io.BytesIO(requests.get(url, timeout=10).content))
    assert (image.format, image.size) == ("PNG", size)


def test_ids_that_only_look_synthetic_are_unknown(server: EmulatorServer) -> None:
    assert call(server, {"action": "retrieve", "id": "5eed0009-0000-4000-8000-000000000001"}).json() == {}


def test_padded_synthetic_images_are_large_but_the_same_picture(server: EmulatorServer) -> None:
    plain, padded = (requests.get(image_urls(call(server, {"action": "retrieve", "id": emulator.synthetic_id(5, kind)})
                                             .json())[0], timeout=30).content for kind in (1, 3))
    assert len(padded) > len(plain) + 6_000_000
    assert Image.open(io.BytesIO(padded)).tobytes() == Image.open(io.BytesIO(plain)).tobytes()


@pytest.mark.parametrize(("kind", "fmt"), [(4, "PNG"), (5, "JPEG")])
def test_photographic_synthetic_images_are_detailed_and_weigh_what_photos_do(server: EmulatorServer, kind: int,
                                                                             fmt: str) -> None:
    (url,) = image_urls(call(server, {"action": "retrieve", "id": emulator.synthetic_id(3, kind)}).json())
    data = requests.get(url, timeout=30).content
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == (fmt, (1024, 1024))
    # Detail at every scale: far more bytes than the smooth sample art, as a photograph would take.
    assert len(data) > (1_500_000 if fmt == "PNG" else 250_000)
