"""A failing Tasks API: retries, budgets, the breaker, kept copies, rate limits and bounded work.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""


import json
import threading
import time

import pytest

from flux_emulator import app as sample
from gallery.flux.breaker import CircuitBreaker
from gallery.flux.budget import RetryBudget
from gallery.flux.client import ApiError, FluxClient
from gallery.infra.slots import Busy, Slots
from security_helpers import DONE, LAKE, MULTI, OK_BODY, inject, make_app, scripted, soup
from support import TOKEN, emulator_stats, set_fault


def test_case_45_a_429_with_retry_after_is_retried_after_that_long(httpserver):
    calls = scripted(httpserver, [(429, {"Retry-After": "2"}, "{}"), (200, {}, OK_BODY)])
    sleeps = []
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=sleeps.append)
    assert DONE in client.fetch([DONE])
    assert len(calls) == 2 and sleeps == [2.0]


def test_case_46_a_long_retry_after_never_sleeps_past_the_deadline(httpserver, emulator, tmp_path):
    calls = scripted(httpserver, [(429, {"Retry-After": "3600"}, "{}")])
    sleeps = []
    client = FluxClient(httpserver.url_for("/"), TOKEN, deadline=15.0, sleep=sleeps.append)
    with pytest.raises(ApiError) as raised:
        client.fetch([DONE])
    assert raised.value.kind == "rate_limited" and sleeps == [] and len(calls) == 1
    app = make_app(emulator, tmp_path, API_DEADLINE=0.5)  # the emulator's Retry-After: 1 would overrun it
    client = app.extensions["gallery"].tasks.client
    slept, sleep = [], client._sleep
    client._sleep = lambda seconds: (slept.append(seconds), sleep(seconds))  # still sleeps: only watched
    set_fault(emulator, "429")
    started = time.monotonic()
    response = app.test_client().get(f"/tasks/{DONE}")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    # It answered at once: no pause at all, so well before the 1 s the Retry-After asked for (a loaded machine
    # may take longer than the deadline over the one call itself).
    assert slept == [] and time.monotonic() - started < 1.0 and emulator_stats(emulator)["task_calls"] == 1


def test_case_47_two_500s_then_success_with_jittered_capped_backoff(httpserver):
    calls = scripted(httpserver, [(500, {}, "{}"), (500, {}, "{}"), (200, {}, OK_BODY)])
    sleeps = []
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=sleeps.append)
    assert DONE in client.fetch([DONE])
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5 and max(sleeps) <= 4.5


def test_case_48_repeated_failures_open_the_breaker_then_one_probe(httpserver, emulator, tmp_path):
    calls = scripted(httpserver, [(500, {}, "{}")])
    now = [0.0]
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None,
                        breaker=CircuitBreaker(5, 30.0, clock=lambda: now[0]),
                        budget=RetryBudget(2.0))  # every retry allowed: this test is about the breaker
    for _ in range(5):
        with pytest.raises(ApiError) as raised:
            client.fetch([DONE])
        assert raised.value.kind == "unavailable"
    assert len(calls) == 15  # 3 attempts per request
    for _ in range(3):
        with pytest.raises(ApiError) as raised:
            client.fetch([DONE])
        assert raised.value.kind == "paused" and raised.value.retry_after >= 1
    assert len(calls) == 15  # open: no upstream calls at all
    now[0] = 31.0
    with pytest.raises(ApiError):
        client.fetch([DONE])  # the one half-open probe, which fails
    assert len(calls) == 18
    with pytest.raises(ApiError) as raised:
        client.fetch([DONE])
    assert raised.value.kind == "paused" and len(calls) == 18

    app = make_app(emulator, tmp_path, API_ATTEMPTS=1)
    web = app.test_client()
    web.get(f"/tasks/{sample.PENDING_ID}")
    app.extensions["gallery"].tasks.pending_ttl = 0
    set_fault(emulator, "500")
    for _ in range(5):
        web.get(f"/tasks/{LAKE}")
    calls_before = emulator_stats(emulator)["task_calls"]
    paused = web.get(f"/tasks/{LAKE}")
    assert paused.status_code == 503 and int(paused.headers["Retry-After"]) >= 1
    stale = web.get(f"/tasks/{sample.PENDING_ID}")
    assert stale.status_code == 200 and soup(stale).select_one(".notice--stale") is not None
    assert emulator_stats(emulator)["task_calls"] == calls_before


def test_retries_stay_within_the_budget_when_the_upstream_keeps_failing(httpserver):
    calls = scripted(httpserver, [(503, {}, "{}")])
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None,
                        breaker=CircuitBreaker(failures=1000), budget=RetryBudget(0.1, floor=0.2))
    for _ in range(40):
        with pytest.raises(ApiError):
            client.fetch([DONE])
    # 40 calls; retries within 0.2/s × 10 s + 10 % of 40 = 6, where unbudgeted attempts would have made 120.
    assert len(calls) == 40 + 6


def test_the_retry_budget_refills_as_its_window_moves_on():
    now = [0.0]
    budget = RetryBudget(0.1, floor=0.1, window=10.0, clock=lambda: now[0])
    for _ in range(20):
        budget.called()
    assert [budget.try_retry() for _ in range(4)] == [True, True, True, False]  # 1 + 10 % of 20
    now[0] = 10.5  # those calls and retries have left the window
    budget.called()
    assert budget.try_retry() is True  # the floor: a quiet server still retries its occasional failure


@pytest.mark.parametrize(("status", "code", "kind"), [(401, "invalid_token", "auth"), (400, "bad_request",
                                                                                      "rejected")])
def test_case_49_client_errors_are_asked_once_and_explained(httpserver, emulator, tmp_path, status, code, kind):
    calls = scripted(httpserver, [(status, {}, json.dumps({"success": False, "error": {"code": code}}))])
    with pytest.raises(ApiError) as raised:
        FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None).fetch([DONE])
    assert raised.value.kind == kind and len(calls) == 1
    app = make_app(emulator, tmp_path)
    set_fault(emulator, "401")
    response = app.test_client().get(f"/tasks/{DONE}")
    assert response.status_code == 502 and "ACEDATACLOUD_API_TOKEN" in response.get_data(as_text=True)
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_50_a_batch_missing_an_item_renders_the_others_in_order(client, emulator):
    set_fault(emulator, "partial_batch")
    response = client.get(f"/tasks/{MULTI},{DONE},{LAKE}")
    assert response.status_code == 200
    order = [li["data-task"] for li in soup(response).select("ul.grid > li")]
    assert list(dict.fromkeys(order)) == [MULTI, DONE, LAKE]
    statuses = {li["data-task"]: li["data-status"] for li in soup(response).select("ul.grid > li")}
    assert "unknown" in statuses.values() and "done" in statuses.values()


def test_case_51_odd_shapes_and_malformed_answers_never_give_a_500(app, client, emulator):
    inject(app, DONE, {"id": DONE, "request": {"prompt": "p"}, "response": {"success": True, "data": "nope"}})
    inject(app, LAKE, {"id": LAKE, "request": {}, "response": {"success": True, "data": [{"image_url": 7}]}})
    page = client.get(f"/tasks/{DONE},{LAKE}")
    assert page.status_code == 200
    assert soup(page).select_one(f"#task-{DONE}")["data-status"] == "pending"
    assert "no usable image address" in soup(page).select_one(f"#image-{LAKE}-0").text
    set_fault(emulator, "malformed")
    assert client.get(f"/tasks/{MULTI}").status_code == 502


def test_case_52_a_kept_copy_is_served_with_an_as_of_note_when_the_upstream_fails(emulator, tmp_path):
    app = make_app(emulator, tmp_path, API_ATTEMPTS=1)
    client = app.test_client()
    client.get(f"/tasks/{sample.PENDING_ID},{DONE}")  # pending: would be asked again after PENDING_TTL
    app.extensions["gallery"].tasks.pending_ttl = 0
    set_fault(emulator, "500")
    page = client.get(f"/tasks/{sample.PENDING_ID},{DONE}")
    assert page.status_code == 200
    note = soup(page).select_one(".notice--stale")
    assert note is not None and "as of" in note.text
    assert [li["data-status"] for li in soup(page).select("ul.grid > li")] == ["pending", "done"]
    body = client.get(f"/api/tasks/{sample.PENDING_ID}").get_json()
    assert body["as_of"] and body["tasks"][0]["status"] == "pending"
    assert client.get(f"/tasks/{LAKE}").status_code == 502  # nothing kept for this one: the error page


def test_case_53_a_finished_gallery_costs_one_call_even_across_a_restart(emulator, tmp_path):
    ids = f"{DONE},{sample.FAILED_ID},{LAKE}"
    first = make_app(emulator, tmp_path)
    first.test_client().get(f"/tasks/{ids}")
    first.test_client().get(f"/tasks/{ids}")
    restarted = make_app(emulator, tmp_path)
    assert restarted.test_client().get(f"/tasks/{ids}").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_53_a_pending_task_is_asked_again_after_its_ttl(app, client, emulator):
    client.get(f"/tasks/{sample.PENDING_ID}")
    client.get(f"/tasks/{sample.PENDING_ID}")
    assert emulator_stats(emulator)["task_calls"] == 1
    app.extensions["gallery"].tasks.pending_ttl = 0
    client.get(f"/tasks/{sample.PENDING_ID}")
    assert emulator_stats(emulator)["task_calls"] == 2


def test_case_54_the_61st_gallery_request_in_a_minute_is_a_429(app, client, emulator):
    for _ in range(60):
        assert client.get(f"/tasks/{DONE}").status_code == 200
    response = client.get(f"/tasks/{DONE}")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert client.get(f"/api/tasks/{DONE}").status_code == 429
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 200  # images have their own allowance
    assert client.get("/healthz").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_55_a_spoofed_forwarded_for_does_not_change_the_limit_key(emulator, tmp_path):
    client = make_app(emulator, tmp_path, RATE_LIMIT=2).test_client()
    statuses = [client.get(f"/tasks/{DONE}", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]
    behind_proxy = make_app(emulator, tmp_path, RATE_LIMIT=2, PROXY_HOPS=1).test_client()
    statuses = [behind_proxy.get(f"/tasks/{DONE}", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 200]


def test_case_56_decodes_are_bounded_and_a_full_queue_is_a_503(emulator, tmp_path):
    app = make_app(emulator, tmp_path, THUMB_WORKERS=2, THUMB_QUEUE=16)
    app.test_client().get("/api/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Sizes and shapes"]))
    keys = [(task, n) for task in sample.SAMPLE_GALLERIES["Sizes and shapes"]
            for n in range(len(sample.SAMPLES[task].seeds))][:10]
    results = []
    lock = threading.Lock()

    def one(task, n):
        status = app.test_client().get(f"/thumb/{task}/{n}/384").status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=one, args=key) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 10
    assert app.extensions["gallery"].slots.peak <= 2

    full = make_app(emulator, tmp_path / "full", THUMB_WORKERS=1, THUMB_QUEUE=0)
    slots = full.extensions["gallery"].slots
    release = threading.Event()
    holder = threading.Thread(target=slots.run, args=(release.wait,))
    holder.start()
    try:
        while slots.active == 0:
            time.sleep(0.01)
        response = full.test_client().get(f"/thumb/{DONE}/0/384")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    finally:
        release.set()
        holder.join()
    assert full.test_client().get(f"/thumb/{DONE}/0/384").status_code == 200


def test_downloads_are_capped_per_process_and_a_full_queue_is_a_503(emulator, tmp_path):
    app = make_app(emulator, tmp_path, MAX_FETCHES=1, THUMB_QUEUE=0)
    app.test_client().get(f"/api/tasks/{DONE},{LAKE}")
    set_fault(emulator, image_fault="slow", IMAGE_SLOW_SECONDS=1.0)
    downloads = app.extensions["gallery"].originals.downloads
    first = threading.Thread(target=lambda: app.test_client().get(f"/image/{DONE}/0"))
    first.start()
    try:
        while downloads.active == 0:  # the first download holds the only slot
            time.sleep(0.01)
        response = app.test_client().get(f"/image/{LAKE}/0")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        first.join()
    assert emulator_stats(emulator)["media_calls"] == 1
    assert app.extensions["gallery"].originals.failure(LAKE, 0) is None  # busy is not broken
    assert app.test_client().get(f"/image/{LAKE}/0").status_code == 200


def test_case_56_slots_refuse_at_once_when_the_queue_is_full():
    slots = Slots(1, queue=0)
    release = threading.Event()
    holder = threading.Thread(target=slots.run, args=(release.wait,))
    holder.start()
    while slots.active == 0:
        time.sleep(0.01)
    with pytest.raises(Busy):
        slots.run(lambda: None)
    release.set()
    holder.join()
    assert slots.run(lambda: 5) == 5
