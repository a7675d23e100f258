"""The Tasks API client over real HTTP: against the emulator, and against a scripted local server."""

import json
import logging
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from gallery.flux.budget import RetryBudget
from gallery.flux.client import ApiError, FluxClient

TOKEN = "secret-token-for-client-tests"
A = "2db0168c-2373-4367-8d9a-9dc778802e8a"
B = "72bdd69d-290d-4710-a6d4-60c78968865a"


def client_for(httpserver, **options) -> FluxClient:
    options.setdefault("sleep", lambda seconds: None)
    return FluxClient(httpserver.url_for("/"), TOKEN, **options)


def envelope(code, message="m", trace="t-1"):
    return {"success": False, "error": {"code": code, "message": message}, "trace_id": trace}


def test_retrieve_sends_the_documented_request(httpserver):
    httpserver.expect_oneshot_request(
        "/flux/tasks", method="POST", json={"action": "retrieve", "id": A},
        headers={"authorization": f"Bearer {TOKEN}", "accept": "application/json",
                 "content-type": "application/json"},
    ).respond_with_json({"id": A, "request": {}})
    assert client_for(httpserver).fetch([A]) == {A: {"id": A, "request": {}}}
    httpserver.check_assertions()


def test_unknown_id_is_an_empty_object_not_an_error(httpserver):
    httpserver.expect_request("/flux/tasks").respond_with_json({})
    assert client_for(httpserver).fetch([A]) == {}


def test_batch_sends_limit_and_chunks(httpserver):
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(5)]
    bodies = []

    def handler(request):
        body = request.get_json()
        bodies.append(body)
        return Response(json.dumps({"items": [{"id": i} for i in reversed(body["ids"])], "count": 2}),
                        content_type="application/json")

    httpserver.expect_request("/flux/tasks").respond_with_handler(handler)
    records = client_for(httpserver, batch_size=2).fetch(ids)
    assert list(records) != [] and set(records) == set(ids)
    assert sorted(b["ids"] for b in bodies) == [ids[0:2], ids[2:4], ids[4:5]]
    assert all(b["action"] == "retrieve_batch" and b["limit"] == len(b["ids"]) for b in bodies[:2])


def test_the_chunks_of_a_long_gallery_are_asked_for_together():
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(100)]
    both_in_flight = threading.Barrier(2, timeout=10)  # broken, so a 500, unless the second call comes meanwhile

    def handler(request):
        both_in_flight.wait()
        body = request.get_json()
        return Response(json.dumps({"items": [{"id": i} for i in body["ids"]]}), content_type="application/json")

    with HTTPServer(threaded=True) as server:
        server.expect_request("/flux/tasks").respond_with_handler(handler)
        records = FluxClient(server.url_for("/"), TOKEN, attempts=1).fetch(ids)
    assert set(records) == set(ids)


def test_batch_ignores_items_it_did_not_ask_for(httpserver):
    httpserver.expect_request("/flux/tasks").respond_with_json({"items": [{"id": A}, {"id": "other"}, 5]})
    assert set(client_for(httpserver).fetch([A, B])) == {A}


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (400, envelope("token_mismatched"), "auth", "token_mismatched"),
        (400, envelope("no_token"), "auth", "no_token"),
        (400, envelope("api_not_implemented"), "rejected", "api_not_implemented"),
        (400, envelope("bad_request"), "rejected", "bad_request"),
        (401, envelope("invalid_token"), "auth", "invalid_token"),
        (403, envelope("used_up"), "auth", "used_up"),
        (429, envelope("too_many_requests"), "rate_limited", "too_many_requests"),
        (500, envelope("api_error", "fetch failed"), "unavailable", "api_error"),
        (503, envelope("service_unavailable"), "unavailable", "service_unavailable"),
        (504, envelope("timeout"), "timeout", "timeout"),
        (500, {"success": False, "error": "bare string error", "trace_id": "t-1"}, "unavailable", None),
        (502, "<html>bad gateway</html>", "unavailable", None),
        (200, "<html>not json</html>", "bad_response", None),
        (302, "", "bad_response", None),
    ],
)
def test_every_failure_becomes_one_typed_error(httpserver, status, body, kind, code):
    data = json.dumps(body) if isinstance(body, dict) else body
    headers = {"Location": "http://127.0.0.1:9/elsewhere"} if status == 302 else {}
    httpserver.expect_request("/flux/tasks").respond_with_data(data, status=status, headers=headers,
                                                              content_type="application/json")
    with pytest.raises(ApiError) as caught:
        client_for(httpserver, attempts=1).fetch([A])
    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert caught.value.message
    if isinstance(body, dict):
        assert caught.value.trace_id == "t-1"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_failures_are_retried_then_succeed(httpserver, status):
    httpserver.expect_ordered_request("/flux/tasks").respond_with_json(envelope("x"), status=status)
    httpserver.expect_ordered_request("/flux/tasks").respond_with_json(envelope("x"), status=status)
    httpserver.expect_ordered_request("/flux/tasks").respond_with_json({"id": A})
    waits = []
    assert client_for(httpserver, sleep=waits.append).fetch([A]) == {A: {"id": A}}
    assert len(waits) == 2 and waits[1] > waits[0] * 0.9


def test_the_backoff_starts_where_it_is_set_doubles_and_is_capped_at_eight_times_it(httpserver):
    httpserver.expect_request("/flux/tasks").respond_with_json(envelope("api_error"), status=500)
    waits = []
    with pytest.raises(ApiError):
        client_for(httpserver, sleep=waits.append, attempts=6, backoff=0.1, deadline=60.0,
                   budget=RetryBudget(1.0)).fetch([A])
    # Each wait is its doubling step, capped at 0.8 s, plus up to 0.1 s of jitter.
    for wait, step in zip(waits, (0.1, 0.2, 0.4, 0.8, 0.8), strict=True):
        assert step <= wait <= step + 0.1, waits


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(httpserver, status):
    httpserver.expect_request("/flux/tasks").respond_with_json(envelope("bad_request"), status=status)
    with pytest.raises(ApiError):
        client_for(httpserver).fetch([A])
    assert len(httpserver.log) == 1


def test_retries_stop_after_three_attempts(httpserver):
    httpserver.expect_request("/flux/tasks").respond_with_json(envelope("api_error"), status=500)
    with pytest.raises(ApiError, match="m"):
        client_for(httpserver).fetch([A])
    assert len(httpserver.log) == 3


def test_retry_after_is_honoured_but_never_past_the_deadline(httpserver):
    httpserver.expect_request("/flux/tasks").respond_with_json(
        envelope("too_many_requests"), status=429, headers={"Retry-After": "30"})
    waits = []
    with pytest.raises(ApiError) as caught:
        client_for(httpserver, sleep=waits.append, deadline=5.0).fetch([A])
    assert caught.value.kind == "rate_limited" and caught.value.retry_after == 30
    assert waits == [] and len(httpserver.log) == 1


def test_a_slow_upstream_times_out(httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/flux/tasks").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        client_for(httpserver, timeout=0.3, attempts=1).fetch([A])
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 1.4


def test_an_unreachable_upstream_is_unavailable():
    client = FluxClient("http://127.0.0.1:9", TOKEN, attempts=2, sleep=lambda s: None)
    with pytest.raises(ApiError) as caught:
        client.fetch([A])
    assert caught.value.kind == "unavailable"


def test_an_oversized_answer_is_refused(httpserver):
    httpserver.expect_request("/flux/tasks").respond_with_data(b"[" + b"0," * 5_000_000 + b"0]",
                                                              content_type="application/json")
    with pytest.raises(ApiError, match="too large"):
        client_for(httpserver).fetch([A])


def test_the_token_never_leaks_into_errors_or_logs(httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/flux/tasks").respond_with_json(
        envelope("invalid_token", f"token {TOKEN} is invalid"), status=401)
    client = client_for(httpserver)
    with pytest.raises(ApiError) as caught:
        client.fetch([A])
    assert TOKEN not in caught.value.message and "[token]" in caught.value.message
    assert TOKEN not in repr(client)
    assert TOKEN not in caplog.text
