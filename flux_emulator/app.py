"""A faithful stand-in for the AceData Cloud Flux Images and Tasks APIs, with sample tasks and Pillow-drawn images.

The shapes are those docs/flux-api.md describes (generation with its callbacks, retrieve, retrieve_batch with
time-window batches, errors, images). Run it alone with `python -m flux_emulator`, or in a background thread
with `EmulatorServer`; `/_emulator/*` routes let tests inject faults at runtime.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import math
import random
import re
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.serving import make_server

from flux_emulator import artwork
from flux_emulator.generation import FAILURE_STATUS, MODERATION_MESSAGE, Delivery, GeneratedTask, problem
from flux_emulator.server import ServerThread

DEFAULT_CONFIG: dict[str, Any] = {
    "TOKEN": "emulator-token",
    "PENDING_SECONDS": 20.0,
    "BATCH_DEFAULT_LIMIT": 12,
    "FAULT": None,
    "IMAGE_FAULT": None,
    # How long the "slow", "hang" and image "slow" faults sleep; tests shrink them to stay fast.
    "SLOW_SECONDS": 3.0,
    "HANG_SECONDS": 30.0,
    "IMAGE_SLOW_SECONDS": 5.0,
    "DRIP_SECONDS": 0.2,  # the pause between bytes of the "drip" image fault
    "RETRY_AFTER_SECONDS": 1,  # the Retry-After of the "429" fault, in whole seconds as HTTP has it
    # A generated task stays pending this long; the real service takes a minute or two, a demo should not.
    "GENERATE_SECONDS": 5.0,
    "GENERATE_FAULT": None,  # like FAULT, for POST /flux/images
    # Callbacks: each POST's timeout, how many times a connection error or 5xx is retried, the first retry's pause.
    "CALLBACK_TIMEOUT_SECONDS": 10.0,
    "CALLBACK_RETRIES": 3,
    "CALLBACK_BACKOFF_SECONDS": 1.0,
}
HOOK_KEYS = ("FAULT", "IMAGE_FAULT", "PENDING_SECONDS", "SLOW_SECONDS", "HANG_SECONDS", "IMAGE_SLOW_SECONDS",
             "DRIP_SECONDS", "RETRY_AFTER_SECONDS", "GENERATE_SECONDS", "GENERATE_FAULT", "CALLBACK_TIMEOUT_SECONDS",
             "CALLBACK_RETRIES", "CALLBACK_BACKOFF_SECONDS")
SECONDS_KEYS = ("PENDING_SECONDS", "SLOW_SECONDS", "HANG_SECONDS", "IMAGE_SLOW_SECONDS", "DRIP_SECONDS",
                "GENERATE_SECONDS", "CALLBACK_TIMEOUT_SECONDS", "CALLBACK_BACKOFF_SECONDS")

# One fictional account owns every sample task, as one real API token would.
ACCOUNT = {
    "api_id": "48ab43bd-229d-4267-8565-07dc4471c500",
    "application_id": "56f9bbbd-b715-4056-8e99-c9202e5e8795",
    "credential_id": "71c43dd6-c10b-4e83-ae75-003a7c3748f7",
    "user_id": "8180c493-a40e-4b20-81c9-5028260a1e28",
}


# --- the sample catalogue ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One sample task: what was asked, how it ended, and the seeds its images are drawn from."""

    id: str
    trace_id: str
    created_at: float
    oid_tail: str  # the last 16 hex digits of the Mongo `_id`; the first 8 encode created_at, as ObjectIds do
    request: dict[str, Any]  # stored as sent; image_url values starting with "/media/" become absolute per request
    seeds: tuple[int | str, ...] = ()
    shape: str = "siliconflow"  # how response.data items look: "siliconflow", "fal" or "flux2" (docs/flux-api.md)
    elapsed: float = 9.6
    waits: str | None = None  # "pending" or "snapshot": unfinished until PENDING_SECONDS after first asked
    error: dict[str, str] | None = None
    broken: bool = False  # its image URL answers 404, like an expired upstream link

    @property
    def extension(self) -> str:
        """File extension of its images: the flux-2 era CDN serves JPEG, older upstreams PNG."""
        return "jpg" if self.shape == "flux2" else "png"


def _at(stamp: str) -> float:
    """Epoch seconds (ms precision, like the API) for a UTC "YYYY-MM-DD HH:MM:SS.fff" stamp."""
    return round(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp(), 3)


def _media(task_id: str, n: int = 0, ext: str = "png") -> str:
    """Host-relative URL of a sample image, for requests that point at another sample (edits)."""
    return f"/media/{task_id}/{n}.{ext}"


DONE_ID = "d7243f94-3b83-4f3b-950b-9addacb5ffe9"
LAKE_ID = "e9cab96c-6fc2-4f9a-af69-665768f8b46f"
MULTI_ID = "25e5c75d-6c30-4bb8-ac6d-ade46c7745a6"
SEED_STRING_ID = "3e71d9bc-8ea0-4233-b7b7-7adfa27f6a5c"
FLUX2_ID = "c5dcbf8b-1986-4b77-83ba-08913c7cfadf"
FAL_ID = "68492a88-cc24-475c-91f4-25721f559ffe"
RATIO_ID = "0adece75-a3f7-424f-9ece-db5cfab89ee8"
NO_SIZE_ID = "0e1f02d9-4297-439b-b627-82dbcab303b1"
EDIT_ID = "73255cdd-9dc3-4fa7-b336-ab4155736d2c"
LIGHTHOUSE_IDS = (
    "856e1922-278c-4855-a9f0-c812bf3ec73d",
    "12ed9e97-36b3-4ca3-a8f6-1db6440eeecd",
    "7716479b-b38c-4299-a269-9fad691a74f2",
    "48371a2f-be88-4f69-a207-1b10d87f32ec",
)
LONG_PROMPT_ID = "4594a091-8d81-41a9-93ef-848272f414f4"
JAPANESE_ID = "ffdeb9ff-ff58-4728-acb8-007149b8daa4"
CHINESE_ID = "3c1f54a7-ddbe-4dc7-81f9-f4c937c15809"
ARABIC_ID = "9bdb0523-8542-4850-93aa-607a593e7fa1"
PENDING_ID = "b6cfd346-ce37-468b-ad53-118ad6288dac"
SNAPSHOT_ID = "ce4354a6-a3a5-49ad-a41b-712edddb2de8"
FAILED_ID = "c2172d8a-54fe-4c6c-b99a-9fb1318e293d"
FAILED_API_ERROR_ID = "2b68c89a-f0d8-464c-b026-d94fa4815e9a"
BROKEN_IMAGE_ID = "612dbd0e-f47b-4915-b017-1bb115943442"
# Looks like a real task ID but is in no catalogue: retrieve answers {} and batches leave it out.
UNKNOWN_ID = "4ebfaa8b-b7e7-4e74-a0f7-3f29d7a5d014"

LONG_PROMPT = (
    "An intricately detailed panoramic view of a mountain village at dawn, terraced rice fields stepping down "
    "the slopes, thin ribbons of mist drifting between the wooden houses, smoke curling from the chimneys, a "
    "stone bridge arching over a rushing river, prayer flags fluttering in the wind, snow-capped peaks glowing "
    "pink in the first light, painted in the manner of a classical landscape with rich texture and soft, "
    "luminous colour"
)

_CATALOGUE = (
    Sample(DONE_ID, "1a39de04-fc41-449e-9966-1f4bfcd5dac5", _at("2026-11-20 09:14:21.779"), "fd35a6b7c429cc55",
           {"action": "generate", "model": "flux-dev", "size": "1024x1024", "count": 1,
            "prompt": "a white siamese cat on a sunny windowsill, soft morning light", "async": True},
           seeds=(281520112,), elapsed=9.6),
    Sample(LAKE_ID, "8e88da95-7770-4617-975d-361d42fa1660", _at("2026-11-20 10:02:47.118"), "81bc9434f49d2a31",
           {"action": "generate", "model": "flux-dev", "size": "1344x768", "count": 2,
            "prompt": "a mountain lake at sunrise, mist over the water, wide landscape"},
           seeds=(1437672535, 90412277), elapsed=14.212),
    Sample(MULTI_ID, "09c53dd1-bbd1-408a-8a74-36c3991f567a", _at("2026-11-20 18:40:05.502"), "b13e8beb4ab9cd70",
           {"action": "generate", "model": "flux-pro", "size": "1024x1024", "count": 4,
            "prompt": "bokeh city lights at night, neon reflections on a wet street", "async": True},
           seeds=(5518203, 771230991, 2093384410, 318877), elapsed=22.481),
    Sample(SEED_STRING_ID, "df35738a-fec1-40d4-b19c-5031685e0eea", _at("2026-11-21 07:55:12.040"),
           "d1d8828831676f01",
           {"action": "generate", "model": "flux-pro-1.1", "size": "768x1344",
            "prompt": "a tall waterfall in a mossy forest, vertical composition", "async": True},
           seeds=("1839201245",), elapsed=11.03),
    Sample(FLUX2_ID, "7a7ccd72-461d-4c45-9474-0ab522391a7f", _at("2026-11-21 12:31:40.866"), "1dd566d8deb6a8a1",
           {"action": "generate", "model": "flux-2-pro", "size": "16:9",
            "prompt": "a desert highway at golden hour, cinematic wide shot", "async": True},
           seeds=(640112009,), shape="flux2", elapsed=17.904),
    Sample(FAL_ID, "66aa7227-c48f-47f6-9bd3-d8de1fa1bdd2", _at("2026-11-21 15:08:09.311"), "b42ce13f39a8a010",
           {"action": "generate", "model": "flux-pro-1.1-ultra", "size": "9:16",
            "prompt": "a koi pond seen from above, autumn leaves floating", "callback_url": "https://example.com/hook"},
           seeds=(1200456789,), shape="fal", elapsed=6.517),
    Sample(RATIO_ID, "b6f0adf4-d9fb-47f0-a2a0-622fe6f22017", _at("2026-11-21 16:45:51.090"), "d7a5d01475322885",
           {"action": "generate", "model": "flux-dev", "size": "3:2", "count": 1,
            "prompt": "a field of lavender under a summer sky, gentle breeze"},
           seeds=(73318420,), elapsed=8.774),
    Sample(NO_SIZE_ID, "3e05e487-6405-4d94-a88a-e5ee4c97a6c7", _at("2026-11-22 08:12:33.604"), "75267c972b6aded2",
           {"action": "generate", "prompt": "a cozy cabin in snowy pine woods at night, warm glowing windows"},
           seeds=(99002133,), elapsed=10.118),
    Sample(EDIT_ID, "54a7a334-3751-4d27-ad42-8eae66fd832b", _at("2026-11-22 08:40:19.227"), "4ebfaa8bb7e7e74b",
           {"action": "edit", "model": "flux-kontext-pro", "size": "1:1",
            "prompt": "turn it into a soft watercolor painting", "image_url": _media(DONE_ID), "async": True},
           seeds=(412907316,), elapsed=12.66),
    Sample(LIGHTHOUSE_IDS[0], "966ca3b7-6865-4955-9a8e-3a1b7c77e264", _at("2026-11-22 19:03:02.515"),
           "5a6630db2f56f0df",
           {"action": "generate", "model": "flux-dev", "size": "1344x768", "count": 1,
            "prompt": "a lighthouse at dusk, oil painting", "async": True},
           seeds=(1760325,), elapsed=9.212),
    Sample(LIGHTHOUSE_IDS[1], "c07f078e-8269-4d6d-a8b2-d35a91bf5c0f", _at("2026-11-22 19:05:44.980"),
           "a5506c962e3941dc",
           {"action": "generate", "model": "flux-dev", "size": "1344x768", "count": 1,
            "prompt": "a lighthouse at dusk, watercolor", "async": True},
           seeds=(1760325,), elapsed=9.487),
    Sample(LIGHTHOUSE_IDS[2], "02465e61-5501-4e2d-8fb5-c8d231effea3", _at("2026-11-22 19:09:11.402"),
           "c319dde7797da39e",
           {"action": "generate", "model": "flux-dev", "size": "1344x768", "count": 1,
            "prompt": "a lighthouse at dusk, storm clouds, oil painting", "async": True},
           seeds=(1760325,), elapsed=9.035),
    Sample(LIGHTHOUSE_IDS[3], "9bd5a99a-628c-41b0-8f1f-e40b4eefb793", _at("2026-11-22 19:14:57.773"),
           "ac2761ab1bc4b573",
           {"action": "generate", "model": "flux-dev", "size": "1344x768", "count": 1,
            "prompt": "a lighthouse at dusk under storm clouds, oil painting, crashing waves", "async": True},
           seeds=(2914406,), elapsed=9.901),
    Sample(LONG_PROMPT_ID, "40d99a1f-4a46-4453-af3b-57e9b7180539", _at("2026-11-23 06:21:08.145"),
           "6e7e617fa9dec749",
           {"action": "generate", "model": "flux-pro", "size": "1792x1024", "count": 1, "prompt": LONG_PROMPT},
           seeds=(558201347,), elapsed=19.336),
    Sample(JAPANESE_ID, "3c41960d-4ff8-4915-aea4-c41479ccc881", _at("2026-11-23 11:47:26.031"), "e9758395f1141d0b",
           {"action": "generate", "model": "flux-dev", "size": "1024x1024",
            "prompt": "夕暮れの京都の路地、提灯の灯り、雨上がりの石畳"},
           seeds=(20260412,), elapsed=8.903),
    Sample(CHINESE_ID, "bdac7bff-25b8-4975-992a-802b3d759cb6", _at("2026-11-23 12:02:55.670"), "27a247890a8c114b",
           {"action": "generate", "model": "flux-pro", "size": "3:2",
            "prompt": "水墨画风格的山水，云雾缭绕的远山，江上一叶小舟"},
           seeds=(8675309,), elapsed=10.442),
    Sample(ARABIC_ID, "8f054bb5-69f6-495b-b462-6ee2663a05f0", _at("2026-11-23 12:20:14.918"), "fa6980135e7bad93",
           {"action": "generate", "model": "flux-dev", "size": "9:16",
            "prompt": "غروب الشمس فوق الكثبان الرملية في الصحراء"},
           seeds=(31415926,), elapsed=9.118),
    Sample(PENDING_ID, "14e71e07-9158-41ff-ae92-9202421998d9", _at("2026-11-24 09:30:02.278"), "d97f70786dd22252",
           {"action": "generate", "model": "flux-kontext-pro", "size": "16:9",
            "prompt": "hot air balloons drifting over a river valley at dawn", "async": True},
           seeds=(1122334455,), elapsed=15.207, waits="pending"),
    Sample(SNAPSHOT_ID, "d50f2f72-7d6f-4442-b1a8-8af5d0383a96", _at("2026-11-24 09:31:40.512"), "fdf1ea40bb997d7a",
           {"action": "generate", "model": "flux-2-pro", "size": "1:1",
            "prompt": "a glass greenhouse full of tropical plants, morning haze", "async": True},
           seeds=(667788990,), shape="flux2", elapsed=21.77, waits="snapshot"),
    Sample(FAILED_ID, "8366e76e-2cb5-4509-85a6-e324d1ef8f7e", _at("2026-11-23 17:26:44.101"), "18dfcfe1d0c331aa",
           {"action": "edit", "model": "flux-kontext-max", "size": "1:1", "image_url": _media(LAKE_ID, 1),
            "prompt": "add a burning ship and thick black smoke over the lake"},
           elapsed=4.742, error={"code": "forbidden", "message": MODERATION_MESSAGE}),
    Sample(FAILED_API_ERROR_ID, "a3843fdd-882e-4525-b917-36375c45d213", _at("2026-11-23 20:58:31.846"),
           "d7b1f1ff7960ba22",
           {"action": "generate", "model": "flux-pro", "size": "1024x1024", "count": 1,
            "prompt": "an astronaut riding a horse across a frozen lake", "async": True},
           elapsed=61.004, error={"code": "api_error", "message": "fetch failed"}),
    Sample(BROKEN_IMAGE_ID, "c2185081-2dba-4969-bb6f-08f537a06308", _at("2026-11-21 09:17:36.455"),
           "c80213b4bb29fc09",
           {"action": "generate", "model": "flux-pro-1.1", "size": "1024x1024",
            "prompt": "a vintage yellow tram climbing a narrow street in Lisbon"},
           seeds=(404404404,), shape="fal", elapsed=7.31, broken=True),
)

# Load tests need galleries of any size: IDs of this form are answered as finished synthetic tasks.
# 5eed<kind>-0000-4000-8000-<n>: kind picks the size (SYNTHETIC_SIZES), n (hex) is the seed.
SYNTHETIC = re.compile(r"5eed([0-9a-f]{4})-0000-4000-8000-([0-9a-f]{12})")
SYNTHETIC_SIZES = {0: "1024x1024", 1: "2048x2048", 2: "1344x768", 3: "2048x2048", 4: "1024x1024", 5: "1024x1024"}
# Kind 3 is kind 1 made as large on the wire as a detailed photo (sample art compresses too well).
SYNTHETIC_PADDING = {3: 6 * 1024 * 1024}
# Kinds 4 and 5 have a photograph's detail (artwork.photograph: texture, edges, grain), as a PNG and as a JPEG at
# quality 90 (served as the flux-2 era's CDN serves JPEGs): what the thumbnail benchmark decodes.
SYNTHETIC_PHOTOS = {4: "PNG", 5: "JPEG"}


def synthetic_id(n: int, kind: int = 0) -> str:
    """The ID of synthetic task `n` (seed n) whose images are of size SYNTHETIC_SIZES[kind]."""
    return f"5eed{kind:04x}-0000-4000-8000-{n:012x}"


def _synthetic(task_id: str) -> Sample | None:
    """A finished one-image task made up from its ID, for benchmarks; None for any other ID."""
    match = SYNTHETIC.fullmatch(task_id)
    if not match or int(match[1], 16) not in SYNTHETIC_SIZES:
        return None
    n, kind = int(match[2], 16), int(match[1], 16)
    return Sample(task_id, str(uuid.UUID(int=n + (1 << 126))), 1_763_600_000.0 + n, f"{n:016x}",
                  {"action": "generate", "model": "flux-dev", "size": SYNTHETIC_SIZES[kind],
                   "prompt": f"synthetic landscape number {n}"}, seeds=(n,), elapsed=5.0,
                  shape="flux2" if SYNTHETIC_PHOTOS.get(kind) == "JPEG" else "siliconflow")


class _Catalogue(dict):
    """The sample tasks by ID, answering synthetic IDs too (made on demand, never stored)."""

    def get(self, task_id, default=None):
        return super().get(task_id) or _synthetic(task_id) or default

    def __contains__(self, task_id) -> bool:
        return super().__contains__(task_id) or _synthetic(task_id) is not None

    def __getitem__(self, task_id):
        sample = self.get(task_id)
        if sample is None:
            raise KeyError(task_id)
        return sample


SAMPLES: dict[str, Sample] = _Catalogue((sample.id, sample) for sample in _CATALOGUE)

# Display order: plain successes first, then sizes and eras, iterations, languages, and the troubled ones last.
SAMPLE_IDS: tuple[str, ...] = (
    DONE_ID, LAKE_ID, MULTI_ID, SEED_STRING_ID, RATIO_ID, NO_SIZE_ID, FLUX2_ID, FAL_ID, EDIT_ID,
    *LIGHTHOUSE_IDS, LONG_PROMPT_ID, JAPANESE_ID, CHINESE_ID, ARABIC_ID,
    PENDING_ID, SNAPSHOT_ID, FAILED_ID, FAILED_API_ERROR_ID, BROKEN_IMAGE_ID,
)

SAMPLE_GALLERIES: dict[str, tuple[str, ...]] = {
    "Everything": SAMPLE_IDS,
    "Prompt iterations": LIGHTHOUSE_IDS,
    "Sizes and shapes": (DONE_ID, LAKE_ID, SEED_STRING_ID, LONG_PROMPT_ID, FLUX2_ID, FAL_ID, RATIO_ID, NO_SIZE_ID,
                         MULTI_ID),
    "Mixed states": (DONE_ID, PENDING_ID, SNAPSHOT_ID, FAILED_ID, FAILED_API_ERROR_ID, BROKEN_IMAGE_ID, UNKNOWN_ID),
}


@dataclass(frozen=True)
class ImageSpec:
    """What the media route needs to draw one sample image."""

    seed: int
    width: int
    height: int
    prompt: str
    fmt: str
    broken: bool
    padding: int = 0  # bytes of a private PNG chunk, for benchmarks that need large files
    photo: bool = False  # drawn with a photograph's detail (artwork.photograph), for the thumbnail benchmark



def _image_specs() -> dict[tuple[str, str], ImageSpec]:
    """Map (task id, file name) to its drawing for every image in the catalogue."""
    specs = {}
    for sample in _CATALOGUE:
        width, height = artwork.size_for(sample.request.get("size"))
        fmt = "JPEG" if sample.extension == "jpg" else "PNG"
        for n, seed in enumerate(sample.seeds):
            specs[sample.id, f"{n}.{sample.extension}"] = ImageSpec(
                int(seed), width, height, sample.request.get("prompt", ""), fmt, sample.broken)
    return specs


IMAGE_SPECS = _image_specs()


def _synthetic_spec(task_id: str, name: str) -> ImageSpec | None:
    """The drawing of a synthetic task's one image."""
    sample = _synthetic(task_id)
    if sample is None or name != f"0.{sample.extension}":
        return None
    width, height = artwork.size_for(sample.request["size"])
    kind = int(task_id[4:8], 16)
    return ImageSpec(int(sample.seeds[0]), width, height, sample.request["prompt"], SYNTHETIC_PHOTOS.get(kind, "PNG"),
                     False, SYNTHETIC_PADDING.get(kind, 0), photo=kind in SYNTHETIC_PHOTOS)


# --- records --------------------------------------------------------------------------------------------------


def _absolute(value: Any, base: str) -> Any:
    """Copy a request echo, making the emulator's own "/media/..." URLs absolute for whoever asked."""
    if isinstance(value, dict):
        return {key: _absolute(item, base) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("/media/"):
        return base + value[1:]
    return value


def _data_items(sample: Sample, base: str, finished_at: float) -> list[dict[str, Any]]:
    """The response.data list in the sample's era shape (see "Response shapes" in docs/flux-api.md)."""
    prompt = sample.request.get("prompt", "")
    items = []
    for n, seed in enumerate(sample.seeds):
        url = f"{base}media/{sample.id}/{n}.{sample.extension}"
        if sample.shape == "flux2":
            items.append({"image_url": url})
        elif sample.shape == "fal":
            items.append({"prompt": prompt, "image_url": url, "timings": int(finished_at)})
        else:
            inference = round(2.8 + int(seed) % 997 / 1000, 3)
            items.append({"prompt": prompt, "image_url": url, "seed": seed, "timings": {"inference": inference}})
    return items


def task_record(sample: Sample, base: str, settled: bool = True) -> dict[str, Any]:
    """The full task record `retrieve` returns, with image URLs under `base` (which ends in a slash)."""
    started_at = round(sample.created_at + 0.06, 3)
    record: dict[str, Any] = {
        "_id": f"{int(sample.created_at):08x}{sample.oid_tail}",
        "id": sample.id,
        "type": "images",
        **ACCOUNT,
        "trace_id": sample.trace_id,
        "created_at": sample.created_at,
        "started_at": started_at,
    }
    if not settled:
        record["request"] = _absolute(sample.request, base)
        if sample.waits == "snapshot":
            record["response"] = {"success": True, "task_id": sample.id}
        return record
    finished_at = round(started_at + sample.elapsed, 3)
    record.update(finished_at=finished_at, elapsed=sample.elapsed, request=_absolute(sample.request, base))
    response: dict[str, Any] = {"success": sample.error is None, "task_id": sample.id, "trace_id": sample.trace_id}
    if sample.error is None:
        response["data"] = _data_items(sample, base, finished_at)
    else:
        response["error"] = dict(sample.error)
    record["response"] = response
    return record


# --- runtime state --------------------------------------------------------------------------------------------


@dataclass
class EmulatorState:
    """Mutable per-app state: first-asked times, generated tasks and their callbacks, counts, a wake-up event."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    first_asked: dict[str, float] = field(default_factory=dict)
    generated: dict[str, GeneratedTask] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    task_calls: int = 0
    generate_calls: int = 0
    media_calls: int = 0
    last_auth: str | None = None
    # Set on shutdown so that "hang" and "slow" sleepers end at once instead of outliving the server.
    stopping: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        """Forget first-asked times, generated tasks and counts; callbacks not yet sent are cancelled."""
        with self.lock:
            self.first_asked.clear()
            self.generated.clear()
            deliveries, self.deliveries = self.deliveries, []
            self.task_calls = self.generate_calls = self.media_calls = 0
            self.last_auth = None
        # A late callback from before a reset would land in the next test's receiver.
        for delivery in deliveries:
            delivery.stop()

    def stop_deliveries(self, wait: float) -> None:
        """Cancel pending callbacks and give each thread up to `wait` seconds to end."""
        with self.lock:
            deliveries = list(self.deliveries)
        for delivery in deliveries:
            delivery.stop()
        deadline = time.monotonic() + wait
        for delivery in deliveries:
            delivery.stop(max(0.01, deadline - time.monotonic()))


def _state() -> EmulatorState:
    """The state of the app serving this request."""
    return current_app.extensions["flux_emulator"]


def _settled(sample: Sample) -> bool:
    """Whether a task is finished now; a waiting one finishes PENDING_SECONDS after it is first asked about."""
    if sample.waits is None:
        return True
    state = _state()
    with state.lock:
        first = state.first_asked.setdefault(sample.id, time.monotonic())
    return time.monotonic() - first >= float(current_app.config["PENDING_SECONDS"])


def _sleep(seconds_key: str) -> None:
    """Sleep for a configured time, waking early if the server is stopping."""
    _state().stopping.wait(float(current_app.config[seconds_key]))


def _take_fault(key: str) -> str | None:
    """The fault for this call: a single mode stays on; a list is consumed one entry per call, then normal."""
    with _state().lock:
        fault = current_app.config.get(key)
        if isinstance(fault, list | tuple):
            current_app.config[key] = list(fault[1:]) or None
            return fault[0] if fault else None
        return fault


# --- /flux/tasks ----------------------------------------------------------------------------------------------


def api_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The platform's error envelope (see "Errors" in docs/flux-api.md), with a fresh trace id."""
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": str(uuid.uuid4())}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _invalid_token() -> Response:
    """401 for a token the platform does not know."""
    return api_error(401, "invalid_token", "The specified token is invalid or wrong.")


def _bad_request(message: str) -> Response:
    """400 bad_request with the given message."""
    return api_error(400, "bad_request", message)


def _sleep_then_answer(seconds_key: str) -> Callable[[], Response | None]:
    """A fault that delays the call and then lets it through."""
    def fault() -> None:
        _sleep(seconds_key)
    return fault


HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)

# Each fault returns a response to send instead, or None to carry on normally (after any delay).
TASK_FAULTS: dict[str, Callable[[], Response | None]] = {
    "429": lambda: api_error(429, "too_many_requests", "You have exceeded the rate limit.",
                             {"Retry-After": str(current_app.config["RETRY_AFTER_SECONDS"])}),
    "500": lambda: api_error(500, "api_error", "fetch failed"),
    "503": lambda: api_error(503, "service_unavailable", "The service is temporarily unavailable."),
    "401": _invalid_token,
    "slow": _sleep_then_answer("SLOW_SECONDS"),
    "hang": _sleep_then_answer("HANG_SECONDS"),
    "malformed": lambda: Response('{"items": [', mimetype="application/json"),
    "html": lambda: Response(HTML_ERROR_PAGE, mimetype="text/html"),
    "partial_batch": lambda: None,  # applied inside retrieve_batch
}


def _auth_error() -> Response | None:
    """400 no_token or 401 invalid_token unless the request carries `Authorization: Bearer <TOKEN>`."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if not scheme:
        return api_error(400, "no_token", "No token specified for the request.")
    if scheme.lower() != "bearer" or token.strip() != current_app.config["TOKEN"]:
        return _invalid_token()
    return None


def _generated(task_id: str) -> GeneratedTask | None:
    """A task made through POST /flux/images on this emulator, if task_id is one."""
    state = _state()
    with state.lock:
        return state.generated.get(task_id)


def _retrieve(body: dict[str, Any], fault: str | None) -> Response:
    """One task by `id`; an unknown id is HTTP 200 with `{}`, as the real API answers."""
    task_id = body.get("id")
    if not isinstance(task_id, str) or not task_id:
        return _bad_request("id is required.")
    if (task := _generated(task_id)) is not None:
        return jsonify(task.record(request.host_url, ACCOUNT))
    sample = SAMPLES.get(task_id)
    if sample is None:
        return jsonify({})
    return jsonify(task_record(sample, request.host_url, _settled(sample)))


def _non_negative_int(value: Any, default: int) -> int | None:
    """Parse offset/limit: missing gives the default, anything but a non-negative integer gives None."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= 0 else None


@dataclass(frozen=True)
class _Listed:
    """A task as a batch sees it: what filters and sorting need, and how to draw its record when on the page."""

    id: str
    trace_id: str
    created_at: float
    record: Callable[[], dict[str, Any]]


def _listed(task_id: str) -> _Listed | None:
    """A generated, sample or synthetic task by ID, or None for an unknown one."""
    if (task := _generated(task_id)) is not None:
        return _Listed(task.id, task.trace_id, task.created_at, lambda: task.record(request.host_url, ACCOUNT))
    sample = SAMPLES.get(task_id)
    if sample is None:
        return None
    return _Listed(sample.id, sample.trace_id, sample.created_at,
                   lambda: task_record(sample, request.host_url, _settled(sample)))


def _every_task() -> list[_Listed]:
    """Every sample and every generated task, for batches without ids (synthetic IDs are endless, so never)."""
    state = _state()
    with state.lock:
        generated = list(state.generated)
    return [listed for task_id in (*generated, *(sample.id for sample in _CATALOGUE))
            if (listed := _listed(task_id)) is not None]


# Without ids a batch needs at least one of these filters (time-window batches in docs/flux-api.md).
BATCH_FILTERS = ("created_at_min", "created_at_max", "user_id", "application_id", "type", "trace_ids")


def _unix_seconds(body: dict[str, Any], key: str) -> float | None:
    """A created_at bound: missing gives None; a number or numeric string gives seconds; else ValueError."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(seconds):
                return seconds
    raise ValueError(f"{key} must be a Unix time in seconds.")


def _batch_filter(body: dict[str, Any]) -> Callable[[_Listed], bool]:
    """The test a task must pass for a batch: account fields, type, trace_ids and the inclusive created_at window."""
    low, high = _unix_seconds(body, "created_at_min"), _unix_seconds(body, "created_at_max")
    trace_ids = body.get("trace_ids")
    if trace_ids is not None and not isinstance(trace_ids, list):
        raise ValueError("trace_ids must be a list of trace IDs.")
    # Every task belongs to the one account and is an image task, so these either keep all or none.
    owned = all(body.get(key) is None or body[key] == value
                for key, value in {"type": "images", **ACCOUNT}.items() if key in BATCH_FILTERS)

    def keep(task: _Listed) -> bool:
        return (owned and (trace_ids is None or task.trace_id in trace_ids)
                and (low is None or task.created_at >= low) and (high is None or task.created_at <= high))
    return keep


def _retrieve_batch(body: dict[str, Any], fault: str | None) -> Response:
    """Tasks by `ids` and/or filters, newest first, cut by offset/limit (default 12 even for ids, as the real API)."""
    ids = body.get("ids")
    if ids is None and all(body.get(key) is None for key in BATCH_FILTERS):
        return _bad_request(f"ids is required, or one of {', '.join(BATCH_FILTERS)}.")
    if ids is not None and not isinstance(ids, list):
        return _bad_request("ids must be a list of task IDs.")
    offset = _non_negative_int(body.get("offset"), 0)
    limit = _non_negative_int(body.get("limit"), int(current_app.config["BATCH_DEFAULT_LIMIT"]))
    if offset is None or limit is None:
        return _bad_request("offset and limit must be non-negative integers.")
    try:
        keep = _batch_filter(body)
    except ValueError as exc:
        return _bad_request(str(exc))
    if ids is None:
        candidates = _every_task()
    else:
        unique = dict.fromkeys(i for i in ids if isinstance(i, str))
        candidates = [listed for task_id in unique if (listed := _listed(task_id)) is not None]
    # The ID breaks ties, so that pages cut from one ordering neither repeat nor skip a task.
    matches = sorted(filter(keep, candidates), key=lambda task: (task.created_at, task.id), reverse=True)
    page = matches[offset:offset + limit]
    if fault == "partial_batch":
        page = page[::2]
    return jsonify({"items": [task.record() for task in page], "count": len(matches)})


ACTIONS: dict[str, Callable[[dict[str, Any], str | None], Response]] = {
    "retrieve": _retrieve,
    "retrieve_batch": _retrieve_batch,
}


def flux_tasks() -> Response:
    """POST /flux/tasks: faults first, then auth, then the action."""
    state = _state()
    with state.lock:
        state.task_calls += 1
    fault = _take_fault("FAULT")
    if fault and (early := TASK_FAULTS[fault]()) is not None:
        return early
    if (denied := _auth_error()) is not None:
        return denied
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return _bad_request("The json payload is not valid to request the API")
    action = body.get("action") or "retrieve"
    handler = ACTIONS.get(action) if isinstance(action, str) else None
    if handler is None:
        return api_error(400, "api_not_implemented", "The API is not implemented.")
    return handler(body, fault)


# --- /flux/images ---------------------------------------------------------------------------------------------


def _schedule_callback(task: GeneratedTask, url: str) -> None:
    """Send the task's final result to `url` once it is done, from a thread of its own."""
    config = current_app.config
    delivery = Delivery(task, url, task.result(request.host_url), timeout=float(config["CALLBACK_TIMEOUT_SECONDS"]),
                        retries=int(config["CALLBACK_RETRIES"]), backoff=float(config["CALLBACK_BACKOFF_SECONDS"]))
    state = _state()
    with state.lock:
        state.deliveries.append(delivery)
    # A server stopping right now would never cancel a thread it did not know of, so the check comes after.
    delivery.start()
    if state.stopping.is_set():
        delivery.stop()


def flux_images() -> Response | tuple[Response, int]:
    """POST /flux/images: faults, auth and checks as /flux/tasks, then a task answered per mode (generation docs)."""
    state = _state()
    with state.lock:
        state.generate_calls += 1
    fault = _take_fault("GENERATE_FAULT")
    if fault and (early := TASK_FAULTS[fault]()) is not None:
        return early
    if (denied := _auth_error()) is not None:
        return denied
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return _bad_request("The json payload is not valid to request the API")
    if (message := problem(body)) is not None:
        return _bad_request(message)
    task = GeneratedTask.create(body, float(current_app.config["GENERATE_SECONDS"]))
    with state.lock:
        state.generated[task.id] = task
    # A callback_url wins over async (the vendor's SDK sends both): the accept is only the task ID.
    if body.get("callback_url") is not None:
        _schedule_callback(task, body["callback_url"].strip())
        return jsonify({"task_id": task.id})
    if body.get("async"):
        return jsonify({"task_id": task.id, "trace_id": task.trace_id})
    # Synchronous: hold the request until the task is done, as the real call blocks for the whole generation.
    if state.stopping.wait(task.remaining()):
        return api_error(503, "service_unavailable", "The service is temporarily unavailable.")
    result = task.result(request.host_url)
    # A failed sync call carries the error's HTTP status as any other error does; its body is still the result.
    return jsonify(result), 200 if result["success"] else FAILURE_STATUS.get(result["error"]["code"], 500)


# --- /media ---------------------------------------------------------------------------------------------------

MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
BOMB_SIDE = 20_000
HUGE_BYTES = 30 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What an object store says for a key that has gone (Aliyun OSS style), rather than a bare 404.
MISSING_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    "<Message>The specified key does not exist.</Message></Error>"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=1)
def bomb_png(side: int = BOMB_SIDE) -> bytes:
    """A valid 1-bit PNG of side×side black pixels (400 MP at the default) that is only ~50 KB on the wire."""
    # Written chunk by chunk, not with Pillow: Pillow would first hold every pixel in memory (400 MB) to save it.
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte "none", then the row's 1-bit pixels
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale, no interlace
    return PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def _image_bytes(spec: ImageSpec, fmt: str | None = None) -> bytes:
    """The drawn image, from the artwork cache (padded before IEND with a private chunk when asked)."""
    if spec.photo:
        return artwork.render_photograph(spec.seed, spec.width, spec.height, fmt or spec.fmt)
    data = artwork.render(spec.seed, spec.width, spec.height, spec.prompt, fmt or spec.fmt)
    if spec.padding and (fmt or spec.fmt) == "PNG":
        # "flUx": ancillary, private, safe to copy; decoders skip it, so the image stays the same picture.
        filler = random.Random(spec.seed).randbytes(spec.padding)
        data = data[:-12] + _png_chunk(b"flUx", filler) + data[-12:]
    return data


def _image(spec: ImageSpec) -> Response:
    """The image as a CDN would serve it, with its real type and length."""
    response = Response(_image_bytes(spec), mimetype=MIME_TYPES[spec.fmt])
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _missing(spec: ImageSpec | None = None) -> Response:
    """404 like an expired object-storage URL."""
    return Response(MISSING_BODY, status=404, mimetype="application/xml")


def _huge(spec: ImageSpec) -> Response:
    """30 MB claiming to be a PNG, streamed without a Content-Length so only a streaming limit stops it."""
    def chunks() -> Iterator[bytes]:
        yield PNG_SIGNATURE
        block = bytes(64 * 1024)
        remaining = HUGE_BYTES - len(PNG_SIGNATURE)
        while remaining > 0:
            yield block[:remaining]
            remaining -= len(block)
    return Response(chunks(), mimetype="image/png")


def _slow_image(spec: ImageSpec) -> Response:
    """The real image, after a long pause."""
    _sleep("IMAGE_SLOW_SECONDS")
    return _image(spec)


@lru_cache(maxsize=1)
def gzip_bomb(inflated: int = 64 * 1024 * 1024) -> bytes:
    """64 MiB of zeros gzipped to about 64 KB: a body that inflates a thousandfold if anyone decodes it."""
    return gzip.compress(bytes(inflated), compresslevel=9)


def _drip(spec: ImageSpec) -> Response:
    """Slowloris: the image one byte at a time, each within any read timeout, so only a total deadline ends it."""
    data = _image_bytes(spec)
    state = _state()
    pause = float(current_app.config["DRIP_SECONDS"])

    def chunks() -> Iterator[bytes]:
        for index in range(len(data)):
            if state.stopping.wait(pause):
                return
            yield data[index:index + 1]
    return Response(chunks(), mimetype=MIME_TYPES[spec.fmt])


def _short_body(spec: ImageSpec) -> Response:
    """Content-Length promises the whole image, then the body stops at a tenth of it and the connection closes."""
    data = _image_bytes(spec)
    response = Response(iter([data[: len(data) // 10]]), mimetype=MIME_TYPES[spec.fmt])
    response.headers["Content-Length"] = str(len(data))
    response.headers["Connection"] = "close"
    return response


def _big_length(spec: ImageSpec) -> Response:
    """Content-Length: 100 MiB, far over any sane cap, so a careful client stops before reading the body."""
    response = Response(iter([PNG_SIGNATURE]), mimetype="image/png")
    response.headers["Content-Length"] = str(100 * 1024 * 1024)
    response.headers["Connection"] = "close"
    return response


def _labelled(content_type: str | None) -> Callable[[ImageSpec], Response]:
    """The real image bytes under a wrong, smuggled or missing Content-Type."""
    def fault(spec: ImageSpec) -> Response:
        response = Response(_image_bytes(spec))
        if content_type is None:
            del response.headers["Content-Type"]
        else:
            response.headers["Content-Type"] = content_type
        return response
    return fault


SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'

IMAGE_FAULTS: dict[str, Callable[[ImageSpec], Response]] = {
    "404": _missing,
    "bomb": lambda spec: Response(bomb_png(), mimetype="image/png"),
    "truncated": lambda spec: Response(_image_bytes(spec)[: len(_image_bytes(spec)) // 2],
                                       mimetype=MIME_TYPES[spec.fmt]),
    "huge": _huge,
    "not_image": lambda spec: Response("<html><body><h1>Access denied</h1></body></html>", mimetype="text/html"),
    "mislabelled": lambda spec: Response(_image_bytes(spec, "JPEG"), mimetype="image/png"),
    "redirect_private": lambda spec: Response("", status=302, headers={"Location": "http://10.0.0.1/x.png"}),
    "slow": _slow_image,
    "hang": lambda spec: (_sleep("HANG_SECONDS"), _image(spec))[1],
    "drip": _drip,
    "short_body": _short_body,
    "gzip_bomb": lambda spec: Response(gzip_bomb(), mimetype="image/png", headers={"Content-Encoding": "gzip"}),
    "redirect_loop": lambda spec: Response("", status=302, headers={"Location": request.path}),
    "redirect_no_location": lambda spec: Response("", status=302),
    "smuggled_type": _labelled("image/png, text/html"),
    "no_type": _labelled(None),
    "svg": lambda spec: Response(SVG, mimetype="image/svg+xml"),
    "big_length": _big_length,
}


def _generated_spec(task_id: str, name: str) -> ImageSpec | None:
    """The drawing of a generated task's image, once the task is done (before that it has no images)."""
    task = _generated(task_id)
    if task is None or not task.finished():
        return None
    for n, seed in enumerate(task.seeds):
        if name == task.image_name(n):
            return ImageSpec(seed, task.width, task.height, task.request["prompt"], "PNG", False)
    return None


def media(task_id: str, name: str) -> Response:
    """GET /media/<task_id>/<n>.<ext>: a sample image, or the configured image fault."""
    state = _state()
    with state.lock:
        state.media_calls += 1
        # Kept so tests can prove that image hosts never see the API token.
        state.last_auth = request.headers.get("Authorization")
    spec = IMAGE_SPECS.get((task_id, name)) or _synthetic_spec(task_id, name) or _generated_spec(task_id, name)
    if spec is None or spec.broken:
        return _missing()
    fault = _take_fault("IMAGE_FAULT")
    return IMAGE_FAULTS[fault](spec) if fault else _image(spec)


# --- test hooks -----------------------------------------------------------------------------------------------


def _check_fault(value: Any, modes: dict[str, Any], key: str) -> None:
    """Raise ValueError unless value is None, a known mode, or a list of those (a one-shot script)."""
    for mode in value if isinstance(value, list | tuple) else [value]:
        if mode is not None and mode not in modes:
            raise ValueError(f"{key} must be one of {sorted(modes)} (or a list of them), not {mode!r}")


def _check_config(config: dict[str, Any]) -> None:
    """Validate the settings that are easy to mistype."""
    _check_fault(config.get("FAULT"), TASK_FAULTS, "FAULT")
    _check_fault(config.get("IMAGE_FAULT"), IMAGE_FAULTS, "IMAGE_FAULT")
    _check_fault(config.get("GENERATE_FAULT"), TASK_FAULTS, "GENERATE_FAULT")
    for key in SECONDS_KEYS:
        seconds = config.get(key, 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < math.inf:
            raise ValueError(f"{key} must be a non-negative number")
    for key in ("CALLBACK_RETRIES", "RETRY_AFTER_SECONDS"):
        count = config.get(key, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{key} must be a non-negative whole number")


def _hook_values() -> dict[str, Any]:
    """The settings the hook can change, as they are now."""
    return {key: current_app.config[key] for key in HOOK_KEYS}


def set_config() -> Response | tuple[Response, int]:
    """POST /_emulator/config: change the faults and timings in HOOK_KEYS at runtime."""
    changes = request.get_json(force=True, silent=True)
    if not isinstance(changes, dict) or set(changes) - set(HOOK_KEYS):
        return jsonify({"error": f"send a JSON object with only these keys: {', '.join(HOOK_KEYS)}"}), 400
    try:
        _check_config(changes)
    except ValueError as exc:
        return jsonify({"error": str(exc)}), 400
    with _state().lock:
        current_app.config.update(changes)
    return jsonify(_hook_values())


def reset() -> Response:
    """POST /_emulator/reset: forget first-asked times, generated tasks (cancelling callbacks) and counts."""
    _state().reset()
    return jsonify({"reset": True})


def about_me() -> Response:
    """GET /_emulator/about: that this is the emulator, and the token it accepts, so a gallery can find it."""
    return jsonify({"service": "flux-emulator", "token": current_app.config["TOKEN"]})


def stats() -> Response:
    """GET /_emulator/stats: call counts, the last media Authorization header, and every callback's fate."""
    state = _state()
    with state.lock:
        counts = {"task_calls": state.task_calls, "generate_calls": state.generate_calls,
                  "media_calls": state.media_calls, "last_auth": state.last_auth}
        deliveries = list(state.deliveries)
    return jsonify({**counts, "callbacks": [delivery.as_json() for delivery in deliveries]})


def _not_found(error: Exception) -> Response:
    """Unknown API paths answer with the platform's no_api envelope, as the real gateway does."""
    return api_error(404, "no_api", "API does not exist, please make sure url is correct.")


def create_emulator(config: dict[str, Any] | None = None) -> Flask:
    """Build an emulator app; `config` overrides DEFAULT_CONFIG (TOKEN, PENDING_SECONDS, FAULT, …)."""
    app = Flask(__name__)
    app.config.update(DEFAULT_CONFIG)
    app.config.update(config or {})
    _check_config(app.config)
    # UTF-8 prompts as sent and keys in record order, as the real API's JSON looks.
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["flux_emulator"] = EmulatorState()
    app.add_url_rule("/flux/tasks", view_func=flux_tasks, methods=["POST"])
    app.add_url_rule("/flux/images", view_func=flux_images, methods=["POST"])
    app.add_url_rule("/media/<task_id>/<name>", view_func=media, methods=["GET"])
    app.add_url_rule("/_emulator/config", view_func=set_config, methods=["POST"])
    app.add_url_rule("/_emulator/reset", view_func=reset, methods=["POST"])
    app.add_url_rule("/_emulator/stats", view_func=stats, methods=["GET"])
    app.add_url_rule("/_emulator/about", view_func=about_me, methods=["GET"])
    app.register_error_handler(404, _not_found)
    return app


# --- running it -----------------------------------------------------------------------------------------------


class EmulatorServer(ServerThread):
    """An emulator app served on 127.0.0.1 from a background thread; also a context manager."""

    def __init__(self, app: Flask | None = None, port: int = 0, config: dict[str, Any] | None = None) -> None:
        """Wrap `app`, or a new emulator built from `config`; port 0 picks a free port at start()."""
        if app is None:
            app = create_emulator(config)
        elif config:
            app.config.update(config)
        super().__init__(app, port, name="flux-emulator")

    def start(self) -> EmulatorServer:
        self.app.extensions["flux_emulator"].stopping.clear()
        super().start()
        return self

    def stop(self) -> None:
        """Wake any sleeping fault or sync generation, cancel callbacks, then stop serving and free the port."""
        state = self.app.extensions["flux_emulator"]
        state.stopping.set()
        state.stop_deliveries(wait=float(self.app.config["CALLBACK_TIMEOUT_SECONDS"]) + 1)
        super().stop()


def fault_arg(value: object) -> str | list[str] | None:
    """`--fault 429,500` scripts one fault per call; a single mode stays on; "none" turns it off."""
    if value is None or str(value).strip().lower() in ("", "none"):
        return None
    # str(): GALLERY_EMULATOR_FAULT=429 arrives from the environment as the number 429.
    modes = [mode.strip() for mode in str(value).split(",") if mode.strip()]
    return modes if len(modes) > 1 else modes[0]


def build_parser() -> argparse.ArgumentParser:
    """Command-line options for running the emulator alone."""
    parser = argparse.ArgumentParser(prog="python -m flux_emulator",
                                     description="Run the Flux Images and Tasks API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_CONFIG["TOKEN"], help="the one bearer token accepted")
    parser.add_argument("--pending-seconds", type=float, default=DEFAULT_CONFIG["PENDING_SECONDS"],
                        help="how long pending samples stay pending after they are first asked about")
    parser.add_argument("--generate-seconds", type=float, default=DEFAULT_CONFIG["GENERATE_SECONDS"],
                        help="how long a task made with POST /flux/images stays pending")
    parser.add_argument("--fault", help=f"one of {', '.join(TASK_FAULTS)}; comma-separate to script calls")
    parser.add_argument("--image-fault", help=f"one of {', '.join(IMAGE_FAULTS)}")
    parser.add_argument("--quiet", action="store_true", help="print only the address, not every request")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run the emulator in the foreground until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        app = create_emulator({"TOKEN": args.token, "PENDING_SECONDS": args.pending_seconds,
                               "GENERATE_SECONDS": args.generate_seconds, "FAULT": fault_arg(args.fault),
                               "IMAGE_FAULT": fault_arg(args.image_fault)})
    except ValueError as exc:
        parser.error(str(exc))
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"Flux API emulator on http://{args.host}:{server.server_port}", flush=True)
    print(f"Token: {args.token}", flush=True)
    print(f"Sample IDs: {','.join(SAMPLE_IDS)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state = app.extensions["flux_emulator"]
        state.stopping.set()
        state.stop_deliveries(wait=1.0)
        server.server_close()


if __name__ == "__main__":
    main()
