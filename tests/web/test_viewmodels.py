"""Pure view-model shaping: prompt differences, image keys, the regenerate request, the JSON a card needs."""

import json

import pytest

from flux_emulator import app as sample
from gallery.flux.models import Image, Status, Task, task_from_record
from gallery.web.layout import GRID_SIZES, ROW_HEIGHT, image_width
from gallery.web.viewmodels import (
    blank_task,
    clip_words,
    gallery_view,
    image_key,
    parse_image_key,
    prompt_diff,
    regenerate_request,
)

A = "2db0168c-2373-4367-8d9a-9dc778802e8a"


class Urls:
    def thumb(self, task_id, index, size):
        return f"/t/{task_id}/{index}/{size}"

    def image(self, task_id, index):
        return f"/i/{task_id}/{index}"

    def gallery(self, ids):
        return "/g/" + ",".join(ids)

    def api(self, ids):
        return "/a/" + ",".join(ids)


def changed(parts):
    return [text for text, is_changed in parts if is_changed]


def test_prompt_diff_marks_the_words_not_every_prompt_shares():
    prompts = [sample.SAMPLES[task_id].request["prompt"] for task_id in sample.LIGHTHOUSE_IDS]
    diff = prompt_diff(prompts)
    assert changed(diff[prompts[0]]) == ["oil painting"]
    assert changed(diff[prompts[1]]) == ["watercolor"]
    assert changed(diff[prompts[2]]) == ["storm clouds", "oil painting"]
    assert changed(diff[prompts[3]]) == ["under storm clouds", "oil painting", "crashing waves"]
    for prompt, parts in diff.items():
        assert "".join(text for text, _ in parts) == prompt  # nothing lost, nothing added


@pytest.mark.parametrize("prompts", [
    [],
    ["a cat"],
    ["a cat", "a cat", None, ""],  # one distinct prompt
    ["a cat on a sofa", "a dog in the park"],  # only common words in common: unrelated
    [sample.SAMPLES[task_id].request.get("prompt") for task_id in sample.SAMPLE_IDS],
])
def test_prompt_diff_is_empty_when_there_is_nothing_to_compare(prompts):
    assert prompt_diff(prompts) == {}


def test_prompt_diff_ignores_case_and_punctuation():
    diff = prompt_diff(["Red fox, snow", "red FOX in snow!"])
    assert changed(diff["Red fox, snow"]) == []
    assert changed(diff["red FOX in snow!"]) == ["in"]


def test_image_keys_round_trip_and_reject_anything_else():
    assert image_key(A, 3) == f"{A}-3"
    assert parse_image_key(f"{A}-3") == (A, 3)
    assert parse_image_key(f" {A.upper()}-0 ") == (A, 0)
    for bad in (None, "", A, f"{A}-", f"{A}-x", f"{A}/1", f"{A}-12345", "../x-1", f"{A}-1-2"):
        assert parse_image_key(bad) is None


def test_the_regenerate_request_repeats_prompt_size_model_and_seed():
    task = Task(id=A, status=Status.DONE, action="generate", model="flux-dev", size="1024x1024", prompt="a cat")
    image = Image(index=0, url=None, prompt="a cat", seed="281520112", inference_seconds=None)
    assert regenerate_request(task, image) == {"action": "generate", "prompt": "a cat", "size": "1024x1024",
                                               "model": "flux-dev", "seed": 281520112}


def test_the_regenerate_request_leaves_out_what_is_unknown_and_keeps_edits_edits():
    bare = Task(id=A, status=Status.DONE, prompt="a cat")
    assert regenerate_request(bare, Image(0, None, "a cat", None, None)) == {"action": "generate", "prompt": "a cat"}
    edit = Task(id=A, status=Status.DONE, action="edit", model="flux-kontext-pro", size="1:1",
                source_image_url="https://example.com/a.png")
    body = regenerate_request(edit, Image(0, None, "watercolor", "abc", None))
    assert body == {"action": "edit", "prompt": "watercolor", "image_url": "https://example.com/a.png",
                    "size": "1:1", "model": "flux-kontext-pro", "seed": "abc"}


def test_gallery_json_has_what_the_script_needs_to_build_a_card():
    ids = tuple(sample.LIGHTHOUSE_IDS[:2])
    tasks = [task_from_record(task_id, sample.task_record(sample.SAMPLES[task_id], "http://x/")) for task_id in ids]
    view = gallery_view(ids, tasks, Urls(), (384, 768))
    body = view.to_json()
    assert body["prompts_differ"] is True and body["title"] == view.title
    assert body["summary"]["label"] == "2 images from 2 tasks"
    task = body["tasks"][1]
    assert task["labels"] == {"status": "Done", "size": "1344×768", "model": "flux-dev", "action": "generate",
                              "created": "2026-11-22 19:05 UTC", "elapsed": "9.49 s"}
    image = task["images"][0]
    assert image["key"] == f"{ids[1]}-0"
    assert image["prompt_parts"] == [["a lighthouse at dusk, ", False], ["watercolor", True]]
    assert image["thumb"] == {"src": f"/t/{ids[1]}/0/384", "srcset": f"/t/{ids[1]}/0/384 384w, /t/{ids[1]}/0/768 768w",
                              "sizes": GRID_SIZES, "width": 384, "height": 219, "shape": "ar1746",
                              "tile_sizes": f"auto, min(100vw, calc(1.746 * {ROW_HEIGHT}))"}
    assert image["request"]["seed"] == 1760325
    assert json.loads(view.tasks[1].images[0].request_json) == image["request"]


def test_a_failed_task_has_a_report_to_paste_upstream():
    record = sample.task_record(sample.SAMPLES[sample.FAILED_ID], "http://x/")
    task = task_from_record(sample.FAILED_ID, record)
    view = gallery_view((task.id,), [task], Urls(), (384,))
    report = view.tasks[0].error_report
    assert sample.FAILED_ID in report and record["response"]["trace_id"] in report
    assert "forbidden" in report and record["response"]["error"]["message"] in report
    assert view.to_json()["tasks"][0]["error_report"] == report


@pytest.mark.parametrize("status", list(Status))
def test_blank_tasks_have_the_shape_of_their_status(status):
    blank = blank_task(status)
    assert blank.status is status and blank.id == ""
    assert len(blank.images) == (1 if status is Status.DONE else 0)


def test_card_sizes_follow_the_grid_columns():
    # A phone 390 px wide: two columns of 174 px images; a 1280 px desktop: four of about 285 px.
    for viewport, width in ((390, 174), (1280, 285)):
        share, px = image_width(viewport)
        assert round(share * viewport + px) == width
    assert GRID_SIZES.startswith("auto, (max-width: 337px) calc(100vw - 30px), (max-width: 466px) calc(50vw - 21px)")


@pytest.mark.parametrize(("text", "length", "expected"), [
    ("a white siamese cat on a sunny windowsill, soft morning light", 60,
     "a white siamese cat on a sunny windowsill, soft morning…"),
    ("a lighthouse at dusk, watercolor", 60, "a lighthouse at dusk, watercolor"),  # fits: left whole
    ("a lighthouse at dusk, watercolor", 25, "a lighthouse at dusk…"),  # no dangling comma before the ellipsis
    ("a lighthouse at dusk, watercolor", 22, "a lighthouse at dusk…"),  # the cut falls on a space
    ("夕暮れの海辺を歩く猫、柔らかな光、水彩画風", 10, "夕暮れの海辺を歩く…"),  # no spaces to cut at: cut anywhere
    ("see https://example.com/a/very/long/address/indeed", 30, "see https://example.com/a/ver…"),  # one long word
])
def test_clip_words_cuts_at_the_end_of_a_word(text, length, expected):
    assert clip_words(text, length) == expected
    assert len(clip_words(text, length)) <= length


def test_the_heading_keeps_the_whole_prompt_and_the_title_cuts_it_at_a_word():
    prompt = "a white siamese cat on a sunny windowsill, soft morning light"
    task = task_from_record(sample.DONE_ID, sample.task_record(sample.SAMPLES[sample.DONE_ID], "http://x/"))
    view = gallery_view((sample.DONE_ID,), [task], Urls(), (384, 768))
    assert view.heading == f"1 image · {prompt}"
    assert view.title == "1 image · a white siamese cat on a sunny windowsill, soft morning…"
    assert view.to_json()["heading"] == view.heading and view.to_json()["title"] == view.title
