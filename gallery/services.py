"""Builds the gallery's long-lived parts from settings and keeps them in `app.extensions`."""

import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app

from gallery import sample_data
from gallery.flux.budget import RetryBudget
from gallery.flux.client import FluxClient
from gallery.flux.tasks import TaskService
from gallery.images.egress import DEFAULT_PORTS, EgressPolicy
from gallery.images.originals import Failures, ImageFetcher, Originals
from gallery.images.thumbnails import Thumbnailer
from gallery.infra.coalesce import Coalescer, LocalCoalescer
from gallery.infra.disk import DiskStore, RecordStore
from gallery.infra.ratelimit import MemoryRateLimiter, RateLimiter
from gallery.infra.slots import Slots
from gallery.web.pagecache import PageCache
from gallery.workspace import db as workspace
from gallery.workspace.kept import KeptTasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Everything a request needs beyond Flask itself."""

    tasks: TaskService
    kept: KeptTasks
    originals: Originals
    store: DiskStore
    thumb_sizes: tuple[int, ...]
    max_ids: int
    max_pixels: int
    sample_data: bool
    coalescer: Coalescer
    slots: Slots
    pages: PageCache
    thumbnailer: Thumbnailer
    limits: dict[str, RateLimiter]  # by endpoint


def init_app(app: Flask, token: str) -> None:
    """Wire the client, caches and (with no token) the built-in emulator into `app`."""
    config = app.config
    base_url = config["ACEDATACLOUD_API_BASE_URL"]
    sample = False
    trusted: frozenset[tuple[str, int]] = frozenset()
    if not token and config["EMULATOR"] == "auto":
        from flux_emulator.app import fault_arg

        emulator = sample_data.connect(int(config["EMULATOR_PORT"]),
                                       {"FAULT": fault_arg(config["EMULATOR_FAULT"]),
                                        "IMAGE_FAULT": fault_arg(config["EMULATOR_IMAGE_FAULT"])})
        base_url, token, sample = emulator.url, emulator.token, True
        # The emulator serves its images from loopback: allow exactly its own origin, nothing else private.
        origin = urlsplit(emulator.url)
        trusted = frozenset({(origin.hostname, origin.port)})
        app.extensions["emulator"] = emulator
        log.warning("No ACEDATACLOUD_API_TOKEN set: showing sample data from the Flux emulator at %s", emulator.url)
    elif _is_loopback(base_url):
        # An emulator or a stand-in API run by hand on this machine: its own images are as trusted as its
        # answers, so its exact origin is allowed, nothing else private.
        origin = urlsplit(base_url)
        trusted = frozenset({(origin.hostname, origin.port or DEFAULT_PORTS.get(origin.scheme))})
    client = FluxClient(base_url, token, timeout=float(config["API_TIMEOUT"]),
                        attempts=int(config["API_ATTEMPTS"]), deadline=float(config["API_DEADLINE"]),
                        batch_size=int(config["BATCH_SIZE"]), budget=RetryBudget(float(config["RETRY_BUDGET"])))
    store = DiskStore(config["CACHE_DIR"] or Path(app.instance_path) / "cache",
                      max_bytes=int(config["CACHE_MAX_BYTES"]))
    policy = EgressPolicy(hosts=_list(config["IMAGE_HOSTS"]), allow_private=flag(config["ALLOW_PRIVATE_IMAGE_HOSTS"]),
                          trusted=trusted)
    fetcher = ImageFetcher(timeout=float(config["IMAGE_TIMEOUT"]), max_bytes=int(config["MAX_IMAGE_BYTES"]),
                           policy=policy)
    wait = float(config["API_DEADLINE"]) + float(config["IMAGE_TIMEOUT"])
    slots = Slots(int(config["THUMB_WORKERS"]), int(config["THUMB_QUEUE"]))
    downloads = Slots(int(config["MAX_FETCHES"]), int(config["THUMB_QUEUE"]), wait=float(config["IMAGE_TIMEOUT"]))
    if config["REDIS_URL"]:
        # Several servers share task records, coalescing locks and rate limits; images stay on each disk.
        from gallery.infra import redis_backends as shared

        redis = shared.connect(config["REDIS_URL"])
        records: RecordStore = shared.RedisStore(redis)
        coalescer: Coalescer = shared.RedisCoalescer(redis, wait=wait)
        pages: RateLimiter = shared.RedisRateLimiter(redis, int(config["RATE_LIMIT"]), "pages")
        images: RateLimiter = shared.RedisRateLimiter(redis, int(config["IMAGE_RATE_LIMIT"]), "images")
    else:
        records, coalescer = store, LocalCoalescer(wait=wait)
        pages = MemoryRateLimiter(int(config["RATE_LIMIT"]))
        images = MemoryRateLimiter(int(config["IMAGE_RATE_LIMIT"]))
    originals = Originals(store, fetcher, int(config["MAX_IMAGE_PIXELS"]),
                          failures=Failures(float(config["IMAGE_ERROR_TTL"])), coalescer=coalescer, slots=slots,
                          downloads=downloads)
    workspace.init_app(app, workspace.database_url(str(config["DATABASE_URL"] or ""), app.instance_path))
    kept = KeptTasks(app)
    thumb_sizes = _sizes(config["THUMB_SIZES"])
    app.extensions["gallery"] = Services(
        tasks=TaskService(client, pending_ttl=float(config["PENDING_TTL"]), store=records, coalescer=coalescer,
                          archive=kept),
        kept=kept,
        originals=originals,
        store=store,
        thumb_sizes=thumb_sizes,
        max_ids=int(config["MAX_IDS"]),
        max_pixels=int(config["MAX_IMAGE_PIXELS"]),
        sample_data=sample,
        coalescer=coalescer,
        slots=slots,
        pages=PageCache(int(config["PAGE_CACHE_BYTES"])),
        thumbnailer=Thumbnailer(store, originals, coalescer, thumb_sizes, int(config["MAX_IMAGE_PIXELS"])),
        limits={"gallery.tasks": pages, "gallery.api_tasks": pages, "share.download": pages,
                "gallery.thumb": images, "gallery.image": images, "share.preview": images},
    )


def _is_loopback(url: str) -> bool:
    """Whether a base URL names this machine by a loopback address or `localhost`."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["gallery"]


def read_token(test_config: dict | None) -> str:
    """The API token from the test config or the environment; it goes to the client, never to app.config."""
    if test_config and "ACEDATACLOUD_API_TOKEN" in test_config:
        return str(test_config.pop("ACEDATACLOUD_API_TOKEN") or "")
    return os.environ.get("ACEDATACLOUD_API_TOKEN", "").strip()


def flag(value: object) -> bool:
    """A yes/no setting from a bool or from text such as "true", "1", "yes", "on"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _list(value: object) -> tuple[str, ...]:
    """A comma-separated setting as a tuple of non-empty entries."""
    parts = value.split(",") if isinstance(value, str) else (value or ())
    return tuple(part.strip() for part in parts if str(part).strip())


def _sizes(value: object) -> tuple[int, ...]:
    """Thumbnail sizes from "384,768" or a list."""
    parts = value.split(",") if isinstance(value, str) else value
    sizes = tuple(sorted({int(part) for part in parts}))
    if not sizes or not all(16 <= size <= 2048 for size in sizes):
        raise ValueError(f"THUMB_SIZES must be sizes between 16 and 2048, not {value!r}")
    return sizes
