"""AceData Cloud's own Python SDK (`acedatacloud`) as the client of the emulator: a check by code nobody here wrote."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from acedatacloud import AceDataCloud, AuthenticationError, ModerationError, ValidationError
from PIL import Image
from pytest_httpserver import HTTPServer

from conftest import GEN_TOKEN
from flux_emulator import app as emulator
from flux_emulator.app import EmulatorServer

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# The SDK polls every 3 s and waits up to 10 min by default; the emulator finishes in GENERATE_SECONDS.
POLL = {"poll_interval": 0.05, "max_wait": 10}


def sdk(server: EmulatorServer, token: str | None = GEN_TOKEN) -> AceDataCloud:
    """The SDK pointed at the emulator: base_url has no environment variable, only the token does."""
    # No retries: the SDK's backoff sleeps 1-8 s between them, and every error here is meant to surface at once.
    return AceDataCloud(api_token=token, base_url=server.url, timeout=10, max_retries=0)


@pytest.fixture
def client(flux_api: EmulatorServer) -> Iterator[AceDataCloud]:
    """An SDK client for the clean emulator."""
    with sdk(flux_api) as sdk_client:
        yield sdk_client


def png_size(url: str) -> tuple[int, int]:
    """Pixel size of the PNG at url."""
    image = Image.open(io.BytesIO(requests.get(url, timeout=10).content))
    assert image.format == "PNG"
    return image.size


def test_sdk_generates_async_and_waits_with_its_own_helper(client: AceDataCloud) -> None:
    handle = client.flux.generate(action="generate", prompt="a lighthouse at dusk", size="16:9", model="flux-dev",
                                  count=2)
    assert UUID4.fullmatch(handle.id) and not handle.done
    state = handle.wait(**POLL)
    assert state["id"] == handle.id and state["request"]["async"] is True  # the SDK asks for async by default
    assert state["response"]["success"] is True and state["finished_at"]
    urls = handle.urls()
    assert urls == [item["image_url"] for item in state["response"]["data"]] and len(urls) == 2
    assert {png_size(url) for url in urls} == {(1344, 768)}


def test_sdk_sync_call_gives_a_finished_handle(client: AceDataCloud) -> None:
    handle = client.flux.generate(action="generate", prompt="a koi pond", size="1024x1024", async_=False)
    assert handle.done  # the sync answer already carries image URLs
    (url,) = handle.urls()
    assert png_size(url) == (1024, 1024)


def test_sdk_callback_reaches_the_receiver_once_and_retrieve_shows_the_finished_record(
        client: AceDataCloud, flux_api: EmulatorServer, httpserver: HTTPServer, wait_until: Any) -> None:
    httpserver.expect_request("/hooks/flux/s3cret", method="POST").respond_with_data("ok")
    url = httpserver.url_for("/hooks/flux/s3cret")
    handle = client.flux.generate(action="generate", prompt="a mountain lake", size="3:2", callback_url=url)
    assert not handle.done

    # Waiting on the receiver, not on handle.wait(): the SDK counts any URL-valued field as an artifact, so the
    # pending record's echoed callback_url alone would make its wait() return before the task is done.
    def delivered() -> dict[str, Any] | None:
        (delivery,) = requests.get(f"{flux_api.url}/_emulator/stats", timeout=10).json()["callbacks"]
        return delivery if delivery["status"] != "scheduled" else None
    delivery = wait_until(delivered, what="the callback")
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    ((request, _),) = httpserver.log
    body = request.get_json()
    assert list(body) == ["success", "task_id", "trace_id", "data"]
    assert body["success"] is True and body["task_id"] == handle.id
    (item,) = body["data"]
    assert set(item) == {"prompt", "image_url", "seed", "timings"} and png_size(item["image_url"]) == (1248, 832)

    record = client.tasks.get(handle.id, service="flux")
    assert record["id"] == handle.id and record["response"] == body
    assert record["request"]["callback_url"] == url and record["finished_at"] and record["elapsed"] is not None
    assert handle.wait(**POLL) == record and handle.urls() == [item["image_url"]]


def test_sdk_reads_the_token_from_the_environment(flux_api: EmulatorServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", GEN_TOKEN)
    with sdk(flux_api, token=None) as client:
        assert client.tasks.get(emulator.DONE_ID, service="flux")["id"] == emulator.DONE_ID


def test_sdk_reports_a_bad_token(flux_api: EmulatorServer) -> None:
    with sdk(flux_api, token="not-the-token") as client, pytest.raises(AuthenticationError) as raised:
        client.flux.generate(action="generate", prompt="a cat", size="1:1")
    error = raised.value
    assert (error.status_code, error.code) == (401, "invalid_token")
    assert error.message == "The specified token is invalid or wrong."
    assert UUID4.fullmatch(error.trace_id)


@pytest.mark.parametrize(("fields", "message"), [
    ({"model": "flux-9"}, "model is invalid."),
    ({"action": "edit"}, "image_url is required for edit, as an http(s) URL."),
    ({"count": 5}, "count must be a whole number from 1 to 4."),
])
def test_sdk_reports_a_bad_request(client: AceDataCloud, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        client.flux.generate(**{"action": "generate", "prompt": "a cat", "size": "1:1", **fields})
    assert (raised.value.status_code, raised.value.code, raised.value.message) == (400, "bad_request", message)


def test_sdk_reports_a_moderated_sync_call(client: AceDataCloud) -> None:
    with pytest.raises(ModerationError) as raised:
        client.flux.generate(action="generate", prompt="nsfw", size="1:1", async_=False)
    assert (raised.value.status_code, raised.value.code) == (403, "forbidden")
    assert raised.value.message == emulator.MODERATION_MESSAGE


def test_sdk_wait_reports_a_failed_async_task(client: AceDataCloud) -> None:
    handle = client.flux.generate(action="generate", prompt="nsfw", size="1:1")
    state = handle.wait(**POLL)
    assert state["response"]["success"] is False and state["response"]["error"]["code"] == "forbidden"
    assert handle.urls() == []
