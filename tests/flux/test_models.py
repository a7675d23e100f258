"""Pure shaping: task IDs, and raw task records in every shape docs/flux-api.md describes."""

from datetime import UTC, datetime

import pytest

from gallery.flux.models import STATUS_TEXT, BadIds, Status, aspect, http_url, parse_ids, task_from_record

A = "2db0168c-2373-4367-8d9a-9dc778802e8a"
B = "72bdd69d-290d-4710-a6d4-60c78968865a"
C = "9f1c2a77-5b0e-4c8e-9a51-0d2f6f3e8c10"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (A, (A,)),
        (f"{A},{B}", (A, B)),
        (f" {A}\n{B}\t{C} ", (A, B, C)),
        (f"{A}, {A.upper()},,{B},", (A, B)),
        (f"{B},{A}", (B, A)),
    ],
)
def test_parse_ids_splits_lowercases_and_deduplicates_in_order(text, expected):
    assert parse_ids(text, limit=100) == expected


@pytest.mark.parametrize("bad", ["../x", "%2F", "a?b", A + "0", A[:-1], "x" * 36, "<script>", A.replace("-", "")])
def test_parse_ids_names_what_is_not_a_task_id(bad):
    with pytest.raises(BadIds) as caught:
        parse_ids(f"{A},{bad}", limit=100)
    assert bad[:20] in str(caught.value)
    assert "not a task ID" in str(caught.value)


@pytest.mark.parametrize("text", ["", "  ", ",,, \n"])
def test_parse_ids_needs_at_least_one(text):
    with pytest.raises(BadIds, match="No task IDs"):
        parse_ids(text, limit=100)


def test_parse_ids_enforces_the_limit_after_deduplication():
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(4)]
    assert len(parse_ids(",".join(ids + ids), limit=4)) == 4
    with pytest.raises(BadIds, match="at most 3"):
        parse_ids(",".join(ids), limit=3)


def record(**overrides):
    """A finished, successful record in the SiliconFlow-era shape, with account fields."""
    base = {
        "_id": "677de81d550a4144a5f4cf62",
        "id": A,
        "type": "images",
        "user_id": "ad7afe47-cea9-4cda-980f-2ad8810e51cf",
        "credential_id": "b00bddd3-140f-4343-a9a2-affb312b60de",
        "trace_id": "6624929c-bb80-40c0-81e8-d96af8405d19",
        "created_at": 1736304669.779,
        "finished_at": 1736304679.439,
        "elapsed": 9.6,
        "request": {"action": "generate", "model": "flux-dev", "size": "1024x1024", "prompt": "a white cat"},
        "response": {
            "success": True,
            "data": [
                {"prompt": "a white cat", "image_url": "https://cdn.test/0.png", "seed": 281520112,
                 "timings": {"inference": 3.193}},
                {"prompt": "a white cat", "image_url": "https://cdn.test/1.png", "seed": 1437672535,
                 "timings": {"inference": 3.175}},
            ],
        },
    }
    base.update(overrides)
    return base


def test_done_task_with_several_images():
    task = task_from_record(A, record())
    assert task.status is Status.DONE and task.finished
    assert (task.model, task.size, task.action, task.prompt) == ("flux-dev", "1024x1024", "generate", "a white cat")
    assert task.created_at == datetime.fromtimestamp(1736304669.779, UTC)
    assert task.elapsed == 9.6
    assert [(i.index, i.url, i.seed, i.inference_seconds) for i in task.images] == [
        (0, "https://cdn.test/0.png", "281520112", 3.193),
        (1, "https://cdn.test/1.png", "1437672535", 3.175),
    ]


@pytest.mark.parametrize(
    ("item", "seed", "inference", "prompt"),
    [
        # fal era: timings is a unix timestamp, not a duration, and there is no seed
        ({"prompt": "p", "image_url": "https://x.test/a.png", "timings": 1752743801}, None, None, "p"),
        # flux-2 era: the image URL alone; the prompt comes from the request
        ({"image_url": "https://x.test/a.jpg"}, None, None, "a white cat"),
        # seed as a string
        ({"image_url": "https://x.test/a.png", "seed": "42"}, "42", None, "a white cat"),
        # junk in every field
        ({"image_url": 5, "seed": {"x": 1}, "timings": "soon", "prompt": ["a"]}, None, None, "a white cat"),
        ({"image_url": "https://x.test/a.png", "seed": True, "timings": {"inference": "3"}}, None, None,
         "a white cat"),
    ],
)
def test_every_image_item_shape(item, seed, inference, prompt):
    task = task_from_record(A, record(response={"success": True, "data": [item]}))
    (image,) = task.images
    assert (image.seed, image.inference_seconds, image.prompt) == (seed, inference, prompt)


def test_request_without_model_or_size():
    task = task_from_record(A, record(request={"prompt": "p"}))
    assert task.status is Status.DONE and task.model is None and task.size is None


@pytest.mark.parametrize(
    "response",
    [None, {"success": True, "task_id": A}, {"success": True, "data": []}, {"success": True, "data": "x"}],
    ids=["no-response", "progress-snapshot", "empty-data", "data-not-a-list"],
)
def test_pending_shapes(response):
    raw = record(response=response)
    if response is None:
        del raw["response"], raw["finished_at"], raw["elapsed"]
    task = task_from_record(A, raw)
    assert task.status is Status.PENDING and not task.finished and task.images == ()


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        ({"code": "forbidden", "message": "moderated"}, "forbidden", "moderated"),
        ("fetch failed", None, "fetch failed"),
        (None, None, None),
    ],
)
def test_failed_task(error, code, message):
    raw = record(response={"success": False, "error": error, "trace_id": "t-1"})
    task = task_from_record(A, raw)
    assert task.status is Status.FAILED and task.finished
    assert (task.error_code, task.error_message, task.trace_id) == (code, message, "t-1")


@pytest.mark.parametrize("raw", [None, {}, [], "x", 3])
def test_unknown_task(raw):
    assert task_from_record(A, raw).status is Status.UNKNOWN


def test_edit_task_keeps_its_source_image():
    raw = record(request={"action": "edit", "prompt": "p", "image_url": "https://x.test/src.png"})
    task = task_from_record(A, raw)
    assert task.action == "edit" and task.source_image_url == "https://x.test/src.png"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1736304669.779, datetime.fromtimestamp(1736304669.779, UTC)),
        ("2026-01-08T02:51:09Z", datetime(2026, 1, 8, 2, 51, 9, tzinfo=UTC)),
        ("2026-01-08T02:51:09", datetime(2026, 1, 8, 2, 51, 9, tzinfo=UTC)),
        ("yesterday", None),
        (1e20, None),
        (None, None),
    ],
)
def test_created_at_as_epoch_or_iso(value, expected):
    assert task_from_record(A, record(created_at=value)).created_at == expected


def test_a_record_of_wrong_types_never_crashes():
    raw = {"id": A, "request": "x", "response": {"success": True, "data": [None, 7, "x"]}, "elapsed": "9"}
    task = task_from_record(A, raw)
    assert task.status is Status.DONE
    assert [image.url for image in task.images] == [None, None, None]
    assert task.elapsed is None


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cdn.test/a.png", True),
        ("http://127.0.0.1:5001/media/a.png", True),
        ("javascript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("ftp://x.test/a.png", False),
        ("https://ok.test@evil.test/a.png", False),
        ("//cdn.test/a.png", False),
        ("https://", False),
        (None, False),
    ],
)
def test_only_plain_http_urls_survive(url, ok):
    assert (http_url(url) is not None) is ok


@pytest.mark.parametrize(
    ("size", "expected"),
    [("1024x768", (1024, 768)), ("16:9", (16, 9)), (" 768 x 1344 ", (768, 1344)), ("0x5", None), ("big", None),
     (None, None)],
)
def test_aspect(size, expected):
    assert aspect(size) == expected


def test_every_status_is_named_in_the_one_table():
    assert set(STATUS_TEXT) == set(Status)
    assert (Status.PENDING.label, Status.PENDING.counted) == ("Still generating", "pending")
