"""A small on-disk key → bytes store with atomic writes: the one home of every cache the gallery keeps."""

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Protocol

# Keys are built from validated task IDs and numbers; anything else is a bug, not a path to follow.
KEY = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*")


class RecordStore(Protocol):
    """Bytes by key: the DiskStore below, or a Redis store shared between servers (gallery.infra.redis_backends)."""

    def read(self, key: str) -> bytes | None: ...
    def write(self, key: str, data: bytes) -> None: ...


class DiskStore:
    """Bytes kept under a folder, one file per key, written so readers never see a partial file.

    Keys under an `evictable` folder count against `max_bytes`; past it, the least recently used go first.
    """

    def __init__(self, root: str | os.PathLike, *, max_bytes: int = 0,
                 evictable: tuple[str, ...] = ("originals", "thumbs")) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.evictable = evictable
        self._usage: int | None = None  # bytes under the evictable folders, counted on first need
        self._lock = threading.Lock()

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

    def write(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically: a temporary file in the same folder, then a rename."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            old = target.stat().st_size if target.exists() else 0
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        if self._counts(key) and self.max_bytes > 0:
            with self._lock:
                # The first write counts what is there (this file included); later ones keep the count.
                self._usage = self._scan_usage() if self._usage is None else self._usage + len(data) - old
                if self._usage > self.max_bytes:
                    self._evict()

    def usage(self) -> int:
        """Bytes kept under the evictable folders now."""
        with self._lock:
            return self._scan_usage()

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

    def _evict(self) -> None:
        """Remove the least recently used files until usage is back under 90 % of the cap."""
        files = sorted(self._files(), key=lambda entry: entry[0])
        usage = sum(size for _, size, _ in files)
        goal = int(self.max_bytes * 0.9)
        for _, size, path in files:
            if usage <= goal:
                break
            path.unlink(missing_ok=True)
            usage -= size
        self._usage = usage
