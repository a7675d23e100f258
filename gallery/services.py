"""Builds the gallery's long-lived parts from settings and keeps them in `app.extensions`."""

import ipaddress
import logging
import os
import weakref
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
from gallery.infra.slots import Slots
from gallery.settings import Settings
from gallery.web import ratelimit
from gallery.web.pagecache import PageCache
from gallery.workspace import db as workspace
from gallery.workspace.collections import Collections
from gallery.workspace.kept import KeptTasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Everything a request needs beyond Flask itself."""

    settings: Settings
    tasks: TaskService
    kept: KeptTasks
    collections: Collections
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

    def close(self) -> None:
        """End the background threads and close pooled connections; the app must not serve after this."""
        self.thumbnailer.close()  # first: its jobs use the originals
        self.tasks.close()
        self.originals.fetcher.close()
        self.kept.close()


def init_app(app: Flask, settings: Settings, token: str) -> None:
    """Wire the client, caches and (with no token) the built-in emulator into `app`."""
    base_url = settings.acedatacloud_api_base_url
    sample = False
    trusted: frozenset[tuple[str, int]] = frozenset()
    if not token and settings.emulator == "auto":
        from flux_emulator.app import fault_arg

        emulator = sample_data.connect(settings.emulator_port,
                                       {"FAULT": fault_arg(settings.emulator_fault),
                                        "IMAGE_FAULT": fault_arg(settings.emulator_image_fault)})
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
    client = FluxClient(base_url, token, timeout=settings.api_timeout, attempts=settings.api_attempts,
                        deadline=settings.api_deadline, batch_size=settings.batch_size, backoff=settings.api_backoff,
                        budget=RetryBudget(settings.retry_budget))
    store = DiskStore(settings.cache_dir or Path(app.instance_path) / "cache", max_bytes=settings.cache_max_bytes)
    policy = EgressPolicy(hosts=settings.image_hosts, allow_private=settings.allow_private_image_hosts,
                          trusted=trusted)
    fetcher = ImageFetcher(timeout=settings.image_timeout, read_timeout=settings.image_read_timeout,
                           max_bytes=settings.max_image_bytes, policy=policy)
    wait = settings.api_deadline + settings.image_timeout
    slots = Slots(settings.thumb_workers, settings.thumb_queue)
    downloads = Slots(settings.max_fetches, settings.thumb_queue, wait=settings.image_timeout)
    if settings.redis_url:
        # Several servers share task records, coalescing locks and rate limits; images stay on each disk.
        from gallery.infra import redis_backends as shared

        redis = shared.connect(settings.redis_url)
        records: RecordStore = shared.RedisStore(redis)
        coalescer: Coalescer = shared.RedisCoalescer(redis, wait=wait)
        ratelimit.init_app(app, settings, redis.connection_pool)
    else:
        records, coalescer = store, LocalCoalescer(wait=wait)
        ratelimit.init_app(app, settings)
    originals = Originals(store, fetcher, settings.max_image_pixels, failures=Failures(settings.image_error_ttl),
                          coalescer=coalescer, slots=slots, downloads=downloads)
    workspace.init_app(app, workspace.database_url(settings.database_url, app.instance_path))
    with app.app_context():
        kept = KeptTasks(workspace.db.engine)
        collections = Collections(workspace.db.engine)
    app.extensions["gallery"] = built = Services(
        settings=settings,
        tasks=TaskService(client, pending_ttl=settings.pending_ttl, store=records, coalescer=coalescer,
                          archive=kept),
        kept=kept,
        collections=collections,
        originals=originals,
        store=store,
        thumb_sizes=settings.thumb_sizes,
        max_ids=settings.max_ids,
        max_pixels=settings.max_image_pixels,
        sample_data=sample,
        coalescer=coalescer,
        slots=slots,
        pages=PageCache(settings.page_cache_bytes),
        thumbnailer=Thumbnailer(store, originals, coalescer, settings.thumb_sizes, settings.max_image_pixels),
    )
    # Closed when the app is collected (tests make many) or, at the latest, when the process exits.
    weakref.finalize(app, built.close)


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
