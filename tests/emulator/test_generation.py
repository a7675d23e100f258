"""POST /flux/images on the emulator over real HTTP: accepts, task lifecycle, images and callbacks to a receiver."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from conftest import GEN_TOKEN, _wait_until
from flux_emulator import app as emulator
from flux_emulator import artwork
from flux_emulator.app import SAMPLE_IDS, SAMPLES, EmulatorServer

AUTH = {"Authorization": f"Bearer {GEN_TOKEN}"}
TIMEOUT = 10
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CAT = {"prompt": "a white cat on a windowsill", "size": "1024x1024"}


def generate(server: EmulatorServer, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    """POST /flux/images with the right token unless other headers are given."""
    return requests.post(f"{server.url}/flux/images", json=body, headers=AUTH if headers is None else headers,
                         timeout=TIMEOUT)


def tasks(server: EmulatorServer, body: dict[str, Any], headers: dict[str, str] | None = None) -> requests.Response:
    """POST /flux/tasks with the right token unless other headers are given."""
    return requests.post(f"{server.url}/flux/tasks", json=body, headers=AUTH if headers is None else headers,
                         timeout=TIMEOUT)


def retrieve(server: EmulatorServer, task_id: str) -> dict[str, Any]:
    """The task record `retrieve` answers."""
    response = tasks(server, {"action": "retrieve", "id": task_id})
    assert response.status_code == 200
    return response.json()


def configure(server: EmulatorServer, **settings: Any) -> dict[str, Any]:
    """Change settings through the runtime hook, returning its echo."""
    response = requests.post(f"{server.url}/_emulator/config", json=settings, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


def callbacks(server: EmulatorServer) -> list[dict[str, Any]]:
    """What the emulator reports about each callback."""
    return requests.get(f"{server.url}/_emulator/stats", timeout=TIMEOUT).json()["callbacks"]


def settled_callback(server: EmulatorServer, wait_until: Any) -> dict[str, Any]:
    """The one callback, once it has reached a final status (no more attempts will follow)."""
    def settled() -> dict[str, Any] | None:
        (delivery,) = callbacks(server)
        return delivery if delivery["status"] != "scheduled" else None
    return wait_until(settled, what="the callback to settle")


def finished(server: EmulatorServer, task_id: str, wait_until: Any) -> dict[str, Any]:
    """The task's record once it has its response."""
    return wait_until(lambda: (record := retrieve(server, task_id)).get("response") and record,
                      what=f"task {task_id} to finish")


def assert_envelope(response: requests.Response, status: int, code: str, message: str | None = None) -> None:
    """The platform's error envelope, as /flux/tasks answers it."""
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code and UUID4.fullmatch(body["trace_id"])
    assert body["error"]["message"] == message if message else body["error"]["message"]


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- auth and validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "status", "code", "message"), [
    ({}, 400, "no_token", "No token specified for the request."),
    ({"Authorization": "Bearer wrong"}, 401, "invalid_token", "The specified token is invalid or wrong."),
    ({"Authorization": GEN_TOKEN}, 401, "invalid_token", None),
])
def test_auth_is_that_of_flux_tasks(flux_api: EmulatorServer, headers: dict[str, str], status: int, code: str,
                                    message: str | None) -> None:
    assert_envelope(generate(flux_api, CAT, headers=headers), status, code, message)
    assert_envelope(tasks(flux_api, {"id": emulator.DONE_ID}, headers=headers), status, code, message)


@pytest.mark.parametrize(("body", "message"), [
    ({"size": "1:1"}, "prompt is required."),
    ({"prompt": "   ", "size": "1:1"}, "prompt is required."),
    ({"prompt": "a cat"}, "size is required"),
    ({"prompt": "a cat", "size": "huge"}, None),
    ({"prompt": "a cat", "size": "0x1024"}, None),
    ({"prompt": "a cat", "size": 1024}, None),
    ({**CAT, "model": "flux-9"}, "model is invalid."),
    ({**CAT, "count": 0}, None),
    ({**CAT, "count": 5}, None),
    ({**CAT, "count": 1.5}, None),
    ({**CAT, "count": True}, None),
    ({**CAT, "action": "upscale"}, None),
    ({**CAT, "action": "edit"}, None),
    ({**CAT, "action": "edit", "image_url": "file:///etc/passwd"}, None),
    ({**CAT, "async": "yes"}, None),
    ({**CAT, "callback_url": "ftp://example.com/hook"}, None),
    ({**CAT, "callback_url": "/hooks/flux"}, None),
    ({**CAT, "callback_url": "http://[::1/hook"}, None),
])
def test_bad_bodies_are_400_bad_request(flux_api: EmulatorServer, body: dict[str, Any], message: str | None) -> None:
    assert_envelope(generate(flux_api, body), 400, "bad_request", message)


@pytest.mark.parametrize("raw", ["not json", '["a", "list"]'])
def test_a_body_that_is_no_json_object_is_400(flux_api: EmulatorServer, raw: str) -> None:
    response = requests.post(f"{flux_api.url}/flux/images", data=raw, timeout=TIMEOUT,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert_envelope(response, 400, "bad_request", "The json payload is not valid to request the API")


@pytest.mark.parametrize("extra", [
    {"size": "16:9", "model": "flux-2-pro"}, {"size": "1344*768"}, {"count": 4.0}, {"model": "flux-pro-1.1-ultra"},
    {"action": "edit", "count": 9, "image_url": "https://example.com/cat.png"},  # count is ignored for edits
    {"future_field": {"nested": True}},
])
def test_loosely_valid_bodies_are_accepted(flux_api: EmulatorServer, extra: dict[str, Any]) -> None:
    response = generate(flux_api, {**CAT, **extra, "async": True})
    assert response.status_code == 200 and UUID4.fullmatch(response.json()["task_id"])


# --- accepts and the task lifecycle ---------------------------------------------------------------------------


def test_async_accepts_at_once_then_the_task_is_pending_then_done(flux_api: EmulatorServer, wait_until: Any) -> None:
    configure(flux_api, GENERATE_SECONDS=1.0)
    sent = {"action": "generate", "prompt": "a lake at dawn", "size": "16:9", "count": 2, "async": True}
    started = time.monotonic()
    accept = generate(flux_api, sent)
    assert time.monotonic() - started < 1.0
    assert accept.status_code == 200 and set(accept.json()) == {"task_id", "trace_id"}
    task_id, trace_id = accept.json()["task_id"], accept.json()["trace_id"]
    assert UUID4.fullmatch(task_id) and UUID4.fullmatch(trace_id) and task_id != trace_id

    pending = retrieve(flux_api, task_id)
    assert pending["id"] == task_id and pending["trace_id"] == trace_id and pending["type"] == "images"
    assert {key: pending[key] for key in emulator.ACCOUNT} == emulator.ACCOUNT
    assert re.fullmatch(r"[0-9a-f]{24}", pending["_id"]) and int(pending["_id"][:8], 16) == int(pending["created_at"])
    assert abs(pending["created_at"] - time.time()) < 5 and pending["started_at"] >= pending["created_at"]
    assert pending["request"] == sent
    assert not {"response", "finished_at", "elapsed"} & set(pending)
    assert requests.get(f"{flux_api.url}/media/{task_id}/0.png", timeout=TIMEOUT).status_code == 404

    done = finished(flux_api, task_id, wait_until)
    assert done["finished_at"] == round(done["created_at"] + 1.0, 3)
    assert done["elapsed"] == round(done["finished_at"] - done["started_at"], 3)
    assert done["request"] == sent
    response = done["response"]
    assert list(response) == ["success", "task_id", "trace_id", "data"]
    assert response["success"] is True and (response["task_id"], response["trace_id"]) == (task_id, trace_id)
    assert len(response["data"]) == 2
    for n, item in enumerate(response["data"]):
        assert set(item) == {"prompt", "image_url", "seed", "timings"} and item["prompt"] == sent["prompt"]
        assert isinstance(item["seed"], int) and isinstance(item["timings"]["inference"], float)
        assert item["image_url"] == f"{flux_api.url}/media/{task_id}/{n}.png"
        image = requests.get(item["image_url"], timeout=TIMEOUT)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        # The picture follows from the seed alone, as the samples' do.
        assert image.content == artwork.render(item["seed"], 1344, 768, sent["prompt"], "PNG")
    assert requests.get(f"{flux_api.url}/media/{task_id}/2.png", timeout=TIMEOUT).status_code == 404


def test_seeds_are_chosen_per_image(flux_api: EmulatorServer) -> None:
    response = generate(flux_api, {**CAT, "count": 4})
    seeds = [item["seed"] for item in response.json()["data"]]
    assert len(set(seeds)) == 4


def test_sync_waits_for_the_final_result(flux_api: EmulatorServer) -> None:
    configure(flux_api, GENERATE_SECONDS=0.4)
    started = time.monotonic()
    response = generate(flux_api, {**CAT, "model": "flux-dev"})
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 200
    result = response.json()
    assert list(result) == ["success", "task_id", "trace_id", "data"] and result["success"] is True
    (item,) = result["data"]
    image = Image.open(io.BytesIO(requests.get(item["image_url"], timeout=TIMEOUT).content))
    assert (image.format, image.size) == ("PNG", (1024, 1024))
    assert retrieve(flux_api, result["task_id"])["response"] == result


def test_sync_failure_carries_its_status_and_the_failed_result(flux_api: EmulatorServer) -> None:
    response = generate(flux_api, {**CAT, "prompt": "something NSFW, please"})
    assert response.status_code == 403
    result = response.json()
    assert result == {"success": False, "task_id": result["task_id"], "trace_id": result["trace_id"],
                      "error": {"code": "forbidden", "message": emulator.MODERATION_MESSAGE}}
    record = retrieve(flux_api, result["task_id"])
    assert record["response"] == result and record["finished_at"]
    assert requests.get(f"{flux_api.url}/media/{result['task_id']}/0.png", timeout=TIMEOUT).status_code == 404


def test_trigger_word_must_be_a_whole_word(flux_api: EmulatorServer) -> None:
    assert generate(flux_api, {**CAT, "prompt": "unsfwish watercolour"}).json()["success"] is True


def test_edit_makes_one_image_of_the_asked_size(flux_api: EmulatorServer) -> None:
    source = f"{flux_api.url}/media/{emulator.DONE_ID}/0.png"
    sent = {"action": "edit", "prompt": "as a watercolor", "size": "9:16", "count": 3, "image_url": source,
            "model": "flux-kontext-pro"}
    result = generate(flux_api, sent).json()
    (item,) = result["data"]
    image = Image.open(io.BytesIO(requests.get(item["image_url"], timeout=TIMEOUT).content))
    assert image.size == artwork.size_for("9:16")
    assert retrieve(flux_api, result["task_id"])["request"] == sent


def test_image_urls_follow_the_host_that_answered(flux_api: EmulatorServer) -> None:
    task_id = generate(flux_api, CAT).json()["task_id"]
    record = tasks(flux_api, {"id": task_id}, headers={**AUTH, "Host": "flux.test:8080"}).json()
    assert record["response"]["data"][0]["image_url"] == f"http://flux.test:8080/media/{task_id}/0.png"


def test_generate_fault_hits_flux_images_only(flux_api: EmulatorServer) -> None:
    configure(flux_api, GENERATE_FAULT=["429", "500"])
    assert_envelope(generate(flux_api, CAT), 429, "too_many_requests")
    assert tasks(flux_api, {"id": emulator.DONE_ID}).status_code == 200
    assert_envelope(generate(flux_api, CAT), 500, "api_error")
    assert generate(flux_api, CAT).status_code == 200


def test_stats_count_generate_calls_apart(flux_api: EmulatorServer) -> None:
    generate(flux_api, CAT)
    generate(flux_api, {}, headers={})
    stats = requests.get(f"{flux_api.url}/_emulator/stats", timeout=TIMEOUT).json()
    assert (stats["generate_calls"], stats["task_calls"]) == (2, 0)


# --- generated tasks in /flux/tasks ---------------------------------------------------------------------------


def test_batches_find_generated_tasks_pending_until_done(flux_api: EmulatorServer, wait_until: Any) -> None:
    configure(flux_api, GENERATE_SECONDS=1.0)
    task_id = generate(flux_api, {**CAT, "async": True}).json()["task_id"]
    body = {"action": "retrieve_batch", "ids": [task_id, emulator.DONE_ID, emulator.UNKNOWN_ID]}
    first = tasks(flux_api, body).json()
    assert first["count"] == 2 and [item["id"] for item in first["items"]] == [task_id, emulator.DONE_ID]
    assert "response" not in first["items"][0]
    wait_until(lambda: "response" in tasks(flux_api, body).json()["items"][0], what="the batch to show it done")


def test_reset_forgets_generated_tasks(flux_api: EmulatorServer) -> None:
    task_id = generate(flux_api, CAT).json()["task_id"]
    requests.post(f"{flux_api.url}/_emulator/reset", timeout=TIMEOUT).raise_for_status()
    assert retrieve(flux_api, task_id) == {}


# --- time-window batches --------------------------------------------------------------------------------------


def window(server: EmulatorServer, **body: Any) -> dict[str, Any]:
    """A successful retrieve_batch without ids."""
    response = tasks(server, {"action": "retrieve_batch", **body})
    assert response.status_code == 200, response.text
    return response.json()


def pages(server: EmulatorServer, limit: int, **filters: Any) -> tuple[list[str], set[int]]:
    """Every ID over all pages of `limit`, in order, and the counts the pages reported."""
    seen: list[str] = []
    counts: set[int] = set()
    offset = 0
    while True:
        body = window(server, limit=limit, offset=offset, **filters)
        counts.add(body["count"])
        seen += [item["id"] for item in body["items"]]
        if len(body["items"]) < limit:
            return seen, counts
        offset += limit


def test_a_sample_window_pages_through_every_task_once_with_inclusive_bounds(flux_api: EmulatorServer) -> None:
    low, high = SAMPLES[emulator.LAKE_ID].created_at, SAMPLES[emulator.PENDING_ID].created_at
    expected = sorted((s for s in SAMPLES.values() if low <= s.created_at <= high),
                      key=lambda s: s.created_at, reverse=True)
    assert 10 < len(expected) < len(SAMPLE_IDS)  # several pages of 5, and the window really leaves some out
    seen, counts = pages(flux_api, 5, created_at_min=low, created_at_max=high)
    assert seen == [s.id for s in expected] and counts == {len(expected)}
    assert emulator.LAKE_ID in seen and emulator.PENDING_ID in seen  # both bounds are inclusive
    just_inside = window(flux_api, created_at_min=low + 0.001, created_at_max=high - 0.001, limit=50)
    assert just_inside["count"] == len(expected) - 2


def test_a_window_over_generated_tasks(flux_api: EmulatorServer) -> None:
    made = [generate(flux_api, {**CAT, "async": True}).json() for _ in range(7)]
    records = [retrieve(flux_api, accept["task_id"]) for accept in made]
    low, high = min(r["created_at"] for r in records), max(r["created_at"] for r in records)
    seen, counts = pages(flux_api, 5, created_at_min=low, created_at_max=high)
    assert sorted(seen) == sorted(a["task_id"] for a in made) and counts == {7}
    created = {r["id"]: r["created_at"] for r in records}
    assert [created[i] for i in seen] == sorted(created.values(), reverse=True)
    # A window from just before the oldest sample on finds them all plus the new ones, and no synthetic IDs.
    everything = window(flux_api, created_at_min=min(s.created_at for s in SAMPLES.values()), limit=100)
    assert everything["count"] == len(SAMPLE_IDS) + 7
    assert [item["id"] for item in everything["items"][:7]] == seen


@pytest.mark.parametrize(("filters", "expected"), [
    ({"user_id": emulator.ACCOUNT["user_id"]}, len(SAMPLE_IDS) + 1),
    ({"application_id": emulator.ACCOUNT["application_id"]}, len(SAMPLE_IDS) + 1),
    ({"type": "images"}, len(SAMPLE_IDS) + 1),
    ({"type": "videos"}, 0),
    ({"user_id": "someone-else"}, 0),
    ({"created_at_max": SAMPLES[emulator.DONE_ID].created_at}, 1),
    ({"created_at_min": "1700000000", "created_at_max": 1700000001}, 0),
    ({"trace_ids": [SAMPLES[emulator.LAKE_ID].trace_id, SAMPLES[emulator.FAL_ID].trace_id, "nope"]}, 2),
    ({"trace_ids": []}, 0),
])
def test_each_filter_alone_lists_tasks_without_ids(flux_api: EmulatorServer, filters: dict[str, Any],
                                                   expected: int) -> None:
    generate(flux_api, {**CAT, "async": True})
    assert window(flux_api, limit=100, **filters)["count"] == expected


def test_window_without_limit_gives_12_newest_first(flux_api: EmulatorServer) -> None:
    body = window(flux_api, type="images")
    created = [item["created_at"] for item in body["items"]]
    assert len(created) == 12 and created == sorted(created, reverse=True) and body["count"] == len(SAMPLE_IDS)


def test_trace_ids_find_a_generated_task(flux_api: EmulatorServer) -> None:
    accept = generate(flux_api, {**CAT, "async": True}).json()
    (item,) = window(flux_api, trace_ids=[accept["trace_id"]])["items"]
    assert item["id"] == accept["task_id"]


@pytest.mark.parametrize("body", [
    {},
    {"user_id": None, "created_at_min": None},
    {"created_at_min": "yesterday"},
    {"created_at_max": True},
    {"trace_ids": "one-trace-id"},
    {"ids": None},
])
def test_a_batch_with_neither_ids_nor_a_good_filter_is_400(flux_api: EmulatorServer, body: dict[str, Any]) -> None:
    assert_envelope(tasks(flux_api, {"action": "retrieve_batch", **body}), 400, "bad_request")


# --- callbacks ------------------------------------------------------------------------------------------------


def test_callback_accept_is_the_task_id_and_the_receiver_gets_the_result_once(
        flux_api: EmulatorServer, httpserver: HTTPServer, wait_until: Any) -> None:
    configure(flux_api, GENERATE_SECONDS=0.5)
    httpserver.expect_request("/hooks/flux/s3cret", method="POST").respond_with_data("ok")
    url = httpserver.url_for("/hooks/flux/s3cret")
    started = time.monotonic()
    accept = generate(flux_api, {**CAT, "count": 2, "callback_url": url, "async": True})
    assert time.monotonic() - started < 0.5
    assert accept.status_code == 200 and list(accept.json()) == ["task_id"]
    task_id = accept.json()["task_id"]
    assert retrieve(flux_api, task_id)["request"]["callback_url"] == url

    delivery = settled_callback(flux_api, wait_until)
    assert delivery == {"task_id": task_id, "url": url, "status": "delivered", "attempts": 1, "answers": [200]}
    ((request, _),) = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    body = request.get_json()
    assert list(body) == ["success", "task_id", "trace_id", "data"]
    assert body == retrieve(flux_api, task_id)["response"]
    assert body["success"] is True and len(body["data"]) == 2
    assert all(requests.get(item["image_url"], timeout=TIMEOUT).status_code == 200 for item in body["data"])


def test_failure_callback_carries_the_error(flux_api: EmulatorServer, httpserver: HTTPServer,
                                            wait_until: Any) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_json({"received": True})
    accept = generate(flux_api, {**CAT, "prompt": "nsfw", "callback_url": httpserver.url_for("/hook")}).json()
    assert settled_callback(flux_api, wait_until)["status"] == "delivered"
    ((request, _),) = httpserver.log
    record = retrieve(flux_api, accept["task_id"])
    assert request.get_json() == record["response"] == {
        "success": False, "task_id": accept["task_id"], "trace_id": record["trace_id"],
        "error": {"code": "forbidden", "message": emulator.MODERATION_MESSAGE}}


def test_callback_retries_5xx_with_doubling_pauses(flux_api: EmulatorServer, httpserver: HTTPServer,
                                                   wait_until: Any) -> None:
    configure(flux_api, CALLBACK_BACKOFF_SECONDS=0.1)
    statuses, arrivals = [503, 500, 200], []

    def answer(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response("", status=statuses[len(arrivals) - 1])
    httpserver.expect_request("/hook").respond_with_handler(answer)
    generate(flux_api, {**CAT, "callback_url": httpserver.url_for("/hook")})
    delivery = settled_callback(flux_api, wait_until)
    assert (delivery["status"], delivery["answers"]) == ("delivered", statuses)
    bodies = [request.get_data() for request, _ in httpserver.log]
    assert len(bodies) == 3 and len(set(bodies)) == 1
    first_pause, second_pause = arrivals[1] - arrivals[0], arrivals[2] - arrivals[1]
    assert first_pause >= 0.1 and second_pause >= 0.2


def test_callback_is_not_retried_after_a_4xx(flux_api: EmulatorServer, httpserver: HTTPServer,
                                             wait_until: Any) -> None:
    httpserver.expect_request("/hook").respond_with_data("no such hook", status=404)
    generate(flux_api, {**CAT, "callback_url": httpserver.url_for("/hook")})
    delivery = settled_callback(flux_api, wait_until)
    assert (delivery["status"], delivery["attempts"]) == ("rejected", 1) and len(httpserver.log) == 1


def test_callback_gives_up_after_the_retries_on_connection_errors(flux_api: EmulatorServer,
                                                                  wait_until: Any) -> None:
    configure(flux_api, CALLBACK_RETRIES=2)
    generate(flux_api, {**CAT, "callback_url": f"http://127.0.0.1:{closed_port()}/hook"})
    delivery = settled_callback(flux_api, wait_until)
    assert delivery["status"] == "failed" and delivery["answers"] == ["ConnectionError"] * 3


def test_a_hanging_receiver_times_out_and_holds_up_nothing(flux_api: EmulatorServer, httpserver: HTTPServer,
                                                            wait_until: Any) -> None:
    configure(flux_api, CALLBACK_TIMEOUT_SECONDS=0.3, CALLBACK_RETRIES=0)
    arrived, release = threading.Event(), threading.Event()

    def hang(request: Request) -> Response:
        arrived.set()
        release.wait(5)
        return Response("late")
    httpserver.expect_request("/hook").respond_with_handler(hang)
    try:
        generate(flux_api, {**CAT, "callback_url": httpserver.url_for("/hook")})
        assert arrived.wait(5)
        # While the receiver sits on the callback, the emulator answers as usual.
        assert generate(flux_api, CAT).json()["success"] is True
        delivery = settled_callback(flux_api, wait_until)
        assert (delivery["status"], delivery["answers"]) == ("failed", ["ReadTimeout"])
    finally:
        release.set()
        # The receiver answers "late" once released, and its answer is logged then: within this test, or it
        # would land in the shared receiver's log of whichever test runs next.
        if arrived.is_set():
            wait_until(lambda: httpserver.log, timeout=5, what="the released receiver to answer")


def callback_threads(task_id: str) -> list[threading.Thread]:
    """The emulator's callback threads for this task that are still alive."""
    return [thread for thread in threading.enumerate() if thread.name == f"flux-callback-{task_id[:8]}"]


def test_stopping_the_server_cancels_callbacks_not_yet_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    server = EmulatorServer(config={"TOKEN": GEN_TOKEN, "GENERATE_SECONDS": 60.0}).start()
    try:
        task_id = generate(server, {**CAT, "callback_url": httpserver.url_for("/hook")}).json()["task_id"]
        assert callback_threads(task_id)
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 5
    _wait_until(lambda: not callback_threads(task_id), timeout=5, what="the callback thread to end")
    assert httpserver.log == []
    (delivery,) = server.app.extensions["flux_emulator"].deliveries
    assert delivery.as_json()["status"] == "cancelled"


def test_reset_cancels_callbacks_not_yet_sent(flux_api: EmulatorServer, httpserver: HTTPServer,
                                              wait_until: Any) -> None:
    configure(flux_api, GENERATE_SECONDS=60.0)
    httpserver.expect_request("/hook").respond_with_data("ok")
    task_id = generate(flux_api, {**CAT, "callback_url": httpserver.url_for("/hook")}).json()["task_id"]
    assert callback_threads(task_id)
    requests.post(f"{flux_api.url}/_emulator/reset", timeout=TIMEOUT).raise_for_status()
    wait_until(lambda: not callback_threads(task_id), what="the callback thread to end")
    assert callbacks(flux_api) == [] and httpserver.log == []


def test_sync_call_ends_when_the_server_stops(wait_until: Any) -> None:
    server = EmulatorServer(config={"TOKEN": GEN_TOKEN, "GENERATE_SECONDS": 60.0}).start()
    answers: list[requests.Response] = []
    caller = threading.Thread(target=lambda: answers.append(generate(server, CAT)))
    caller.start()
    try:
        wait_until(lambda: requests.get(f"{server.url}/_emulator/stats", timeout=TIMEOUT).json()["generate_calls"],
                   what="the sync call to arrive")
    finally:
        server.stop()
    caller.join(5)
    assert_envelope(answers[0], 503, "service_unavailable")


# --- settings -------------------------------------------------------------------------------------------------


def test_hook_sets_generation_and_callback_timings(flux_api: EmulatorServer) -> None:
    echoed = configure(flux_api, GENERATE_SECONDS=0, CALLBACK_RETRIES=0, CALLBACK_BACKOFF_SECONDS=0.5,
                       CALLBACK_TIMEOUT_SECONDS=1)
    assert {key: echoed[key] for key in ("GENERATE_SECONDS", "CALLBACK_RETRIES", "CALLBACK_BACKOFF_SECONDS",
                                         "CALLBACK_TIMEOUT_SECONDS", "GENERATE_FAULT")} == {
        "GENERATE_SECONDS": 0, "CALLBACK_RETRIES": 0, "CALLBACK_BACKOFF_SECONDS": 0.5,
        "CALLBACK_TIMEOUT_SECONDS": 1, "GENERATE_FAULT": None}
    task_id = generate(flux_api, {**CAT, "async": True}).json()["task_id"]
    assert retrieve(flux_api, task_id)["response"]["success"] is True  # zero means done at once


@pytest.mark.parametrize("settings", [
    {"GENERATE_SECONDS": -1},
    {"GENERATE_SECONDS": "soon"},
    {"CALLBACK_RETRIES": 1.5},
    {"CALLBACK_RETRIES": -1},
    {"CALLBACK_BACKOFF_SECONDS": True},
    {"GENERATE_FAULT": "sometimes"},
])
def test_hook_rejects_bad_generation_settings(flux_api: EmulatorServer, settings: dict[str, Any]) -> None:
    response = requests.post(f"{flux_api.url}/_emulator/config", json=settings, timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"]


def test_defaults() -> None:
    config = emulator.create_emulator().config
    assert config["GENERATE_SECONDS"] == 5.0 and config["GENERATE_FAULT"] is None
    assert (config["CALLBACK_TIMEOUT_SECONDS"], config["CALLBACK_RETRIES"], config["CALLBACK_BACKOFF_SECONDS"]) == (
        10.0, 3, 1.0)


def test_command_line_generate_seconds(wait_until: Any) -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "flux_emulator", "--port", "0", "--token", "cli-token",
               "--generate-seconds", "0.3", "--quiet"]
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
            assert requests.post(f"{url}/_emulator/config", json={}, timeout=TIMEOUT).json()["GENERATE_SECONDS"] == 0.3
            headers = {"Authorization": "Bearer cli-token"}
            task_id = requests.post(f"{url}/flux/images", json={**CAT, "async": True}, headers=headers,
                                    timeout=TIMEOUT).json()["task_id"]
            wait_until(lambda: "response" in requests.post(f"{url}/flux/tasks", json={"id": task_id},
                                                           headers=headers, timeout=TIMEOUT).json(),
                       what="the CLI emulator's task to finish")
        finally:
            proc.terminate()
            proc.wait(timeout=TIMEOUT)
