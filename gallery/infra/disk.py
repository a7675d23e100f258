"""A small on-disk key → bytes store with atomic writes: the one home of every cache the gallery keeps."""

import fcntl
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

# Keys are built from validated task IDs and numbers; anything else is a bug, not a path to follow.
KEY = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*")
# Beside the keys (which never start with a dot): the byte count of the evictable folders, and its lock. Every
# DiskStore on one folder (the workers of one server are separate processes) keeps this one count, changing it
# only under an exclusive flock, so together they keep to the cap instead of each counting only its own writes.
USAGE = ".usage"
USAGE_LOCK = ".usage.lock"


class RecordStore(Protocol):
    """Bytes by key: the DiskStore below, or a Redis store shared between servers (gallery.infra.redis_backends)."""

    def read(self, key: str) -> bytes | None: ...
    def touch(self, key: str) -> Path | None:
        """The file that holds `key`, marked as just used, or None when there is none."""
        path = self.path(key)
        try:
            if self._counts(key):
                os.utime(path)  # a file another program sends for us is as recently used as one read here
            elif not path.is_file():
                return None
        except FileNotFoundError:
            return None
        return path

    def write(self, key: str, data: bytes, ttl: float | None = None) -> None: ...


class DiskStore:
    """Bytes kept under a folder, one file per key, written so readers never see a partial file.

    Keys under an `evictable` folder count against `max_bytes`; past it, the least recently used go first.
    """

    def __init__(self, root: str | os.PathLike, *, max_bytes: int = 0,
                 evictable: tuple[str, ...] = ("originals", "thumbs")) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.evictable = evictable
        self._lock = threading.Lock()  # flock keeps other processes out; this, the other threads of this one

    def path(self, key: str) -> Path:
        """The file that holds `key`."""
        if not KEY.fullmatch(key) or ".." in key:
            raise ValueError(f"bad cache key {key!r}")
        return self.root / key

    def read(self, key: str) -> bytes | None:
        """The bytes stored under `key`, or None."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if self._counts(key):
            try:
                os.utime(path)  # a read makes it recent: shared galleries that are looked at stay
            except OSError:
                pass
        return data

    def touch(self, key: str) -> Path | None:
        """The file that holds `key`, marked as just used, or None when there is none."""
        path = self.path(key)
        try:
            if self._counts(key):
                os.utime(path)  # a file another program sends for us is as recently used as one read here
            elif not path.is_file():
                return None
        except FileNotFoundError:
            return None
        return path

    def write(self, key: str, data: bytes, ttl: float | None = None) -> None:
        """Store `data` under `key` atomically: a temporary file in the same folder, then a rename."""
        # `ttl` is for stores shared between servers (RedisStore); a file here stays until it is written again.
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            if not (self._counts(key) and self.max_bytes > 0):
                os.replace(temp, target)
                return
            with self._shared():
                # The size it replaces and the rename are one step for every process, or two writers of one key
                # would both count it as new.
                old = _size(target)
                os.replace(temp, target)
                usage = self._saved_usage()
                # No count yet (or a damaged one): count what is there, this file included.
                usage = self._scan_usage() if usage is None else usage + len(data) - old
                if usage > self.max_bytes:
                    usage = self._evict()
                self._save_usage(usage)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def usage(self) -> int:
        """Bytes kept under the evictable folders now."""
        with self._shared():
            return self._scan_usage()

    @contextmanager
    def _shared(self) -> Iterator[None]:
        """Hold the folder's lock: no other DiskStore on it, in this process or another, changes files meanwhile."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.root / USAGE_LOCK, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # let go when the file closes, or when the process dies
            yield

    def _saved_usage(self) -> int | None:
        try:
            return int((self.root / USAGE).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _save_usage(self, usage: int) -> None:
        temp = self.root / (USAGE + ".tmp")
        temp.write_text(str(usage))
        os.replace(temp, self.root / USAGE)  # a crash leaves the old count or the new one, never half of one

    def _counts(self, key: str) -> bool:
        return key.split("/", 1)[0] in self.evictable

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for folder in self.evictable:
            for path in (self.root / folder).rglob("*"):
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                if path.is_file() and not path.name.startswith(".tmp-"):
                    found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _scan_usage(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _evict(self) -> int:
        """Remove the least recently used files until usage is back under 90 % of the cap; the bytes left."""
        # Counted afresh from the files, so a count that drifted (files removed by hand, a crash) is put right here.
        files = sorted(self._files(), key=lambda entry: entry[0])
        usage = sum(size for _, size, _ in files)
        goal = int(self.max_bytes * 0.9)
        for _, size, path in files:
            if usage <= goal:
                break
            path.unlink(missing_ok=True)
            usage -= size
        return usage


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
