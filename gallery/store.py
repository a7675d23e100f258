"""A small on-disk key → bytes store with atomic writes: the one home of every cache the gallery keeps."""

import os
import re
import tempfile
from pathlib import Path

# Keys are built from validated task IDs and numbers; anything else is a bug, not a path to follow.
KEY = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*")


class DiskStore:
    """Bytes kept under a folder, one file per key, written so readers never see a partial file."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file that holds `key`."""
        if not KEY.fullmatch(key) or ".." in key:
            raise ValueError(f"bad cache key {key!r}")
        return self.root / key

    def read(self, key: str) -> bytes | None:
        """The bytes stored under `key`, or None."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically: a temporary file in the same folder, then a rename."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
