"""Redis-backed stand-ins for the per-process parts, so several servers behind a load balancer share them.

Task records and coalescing locks live in Redis when GALLERY_REDIS_URL is set (rate limits too, through
Flask-Limiter: gallery.web.ratelimit); originals and thumbnails stay on each server's disk, since they regenerate
deterministically from the same records. Redis trouble never takes a page down: reads miss, writes are skipped and
locks fall back to this process, each with a warning in the log.
"""

import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import redis

from gallery.infra.coalesce import LocalCoalescer

log = logging.getLogger(__name__)
T = TypeVar("T")
PREFIX = "fluxgallery:"


def connect(url: str) -> redis.Redis:
    """A Redis client with short timeouts: a slow Redis must not hold a page longer than the Tasks API would."""
    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30)


class RedisStore:
    """The DiskStore interface (read/write bytes by key) on Redis, shared by every server that uses it."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def read(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + key)
        except redis.RedisError as error:
            log.warning("Redis read failed (%s); treating %s as missing", type(error).__name__, key)
            return None

    def write(self, key: str, data: bytes, ttl: float | None = None) -> None:
        """Store `data` under `key`, for good or, with `ttl`, for that many seconds."""
        try:
            self.client.set(self.prefix + key, data, px=max(1, round(ttl * 1000)) if ttl else None)
        except redis.RedisError as error:
            log.warning("Redis write failed (%s); %s kept in memory only", type(error).__name__, key)


class RedisCoalescer:
    """Singleflight across servers: one holder of a Redis lock per key runs `fn`; the others wait, then run
    `fn` themselves, which finds the leader's result in the shared store instead of calling upstream again."""

    def __init__(self, client: redis.Redis, *, wait: float = 30.0, poll: float = 0.05,
                 prefix: str = PREFIX) -> None:
        self.client = client
        self.wait = wait
        self.poll = poll
        self.prefix = prefix + "lock:"
        self.local = LocalCoalescer(wait)  # threads of this process queue here, not on Redis

    def do(self, key: str, fn: Callable[[], T]) -> T:
        return self.local.do(key, lambda: self._across_servers(key, fn))

    def _across_servers(self, key: str, fn: Callable[[], T]) -> T:
        token = uuid.uuid4().hex
        lock = self.prefix + key
        stop = time.monotonic() + self.wait
        try:
            while not self.client.set(lock, token, nx=True, px=int(self.wait * 1000)):
                if time.monotonic() > stop:
                    break  # the holder is stuck or gone; do the work rather than hang
                time.sleep(self.poll)
                if not self.client.exists(lock):
                    return fn()  # the leader finished: fn now finds its result in the shared store
        except redis.RedisError as error:
            log.warning("Redis lock failed (%s); coalescing within this process only", type(error).__name__)
            return fn()
        try:
            return fn()
        finally:
            self._release(lock, token)

    def _release(self, lock: str, token: str) -> None:
        """Delete the lock only if it is still ours (it may have expired and passed to another server)."""
        try:
            self.client.eval(_RELEASE, 1, lock, token)
        except redis.RedisError:
            pass  # it expires by itself


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
