"""Download-all: a zip of a gallery's originals with a manifest, streamed one image at a time."""

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from gallery.flux.models import Image, Status, Task
from gallery.images.originals import EXTENSIONS

FIELDS = ("task_id", "status", "index", "prompt", "size", "seed", "model", "created_at", "source_url",
          "file_name", "error")


@dataclass(frozen=True)
class Row:
    """One line of the manifest: an image, or a task that has none (pending, failed, unknown)."""

    task_id: str
    status: str
    index: int | None
    prompt: str | None
    size: str | None
    seed: str | None
    model: str | None
    created_at: str | None
    source_url: str | None
    file_name: str | None
    error: str | None


def slug(text: str | None, words: int = 6, length: int = 48) -> str:
    """A few lower-case words of a prompt, safe in any file system: "A white cat!" → "a-white-cat"."""
    text = unicodedata.normalize("NFKC", text or "")
    parts = re.findall(r"\w+", text.lower())[:words]
    name = "-".join(parts).strip("-_")[:length].rstrip("-_")
    return name or "image"


def file_name(task: Task, image: Image, extension: str, taken: set[str]) -> str:
    """A clean, unique name from the prompt's first words, the seed and the task ID."""
    seed = f"_seed-{re.sub(r'[^0-9A-Za-z]', '', image.seed)[:20]}" if image.seed else ""
    stem = f"{slug(image.prompt)}{seed}_{task.id[:8]}-{image.index}"
    name, n = f"{stem}.{extension}", 2
    while name in taken:
        name, n = f"{stem}_{n}.{extension}", n + 1
    taken.add(name)
    return name


def stream_zip(tasks: list[Task], load: Callable[[Task, Image], tuple[bytes, str]]) -> Iterator[bytes]:
    """Zip bytes, chunk by chunk: each original as it is loaded, then manifest.json and manifest.csv.

    `load` returns an image's bytes and content type, or raises an exception whose message says why not.
    """
    sink = _Sink()
    rows: list[Row] = []
    taken: set[str] = set()
    with zipfile.ZipFile(sink, "w") as archive:
        for task in tasks:
            if task.status is not Status.DONE:
                rows.append(_row(task, None, None, _task_error(task)))
                continue
            for image in task.images:
                try:
                    data, kind = load(task, image)
                except Exception as error:  # noqa: BLE001 - one broken image must not end the download
                    rows.append(_row(task, image, None, str(error) or type(error).__name__))
                    continue
                name = file_name(task, image, EXTENSIONS.get(kind, "bin"), taken)
                # Images are compressed already: storing them costs nothing and keeps the stream cheap.
                archive.writestr(zipfile.ZipInfo(name, _when(task)), data, zipfile.ZIP_STORED)
                del data
                rows.append(_row(task, image, name, None))
                yield sink.drain()
        archive.writestr("manifest.json", manifest_json(rows), zipfile.ZIP_DEFLATED)
        archive.writestr("manifest.csv", manifest_csv(rows), zipfile.ZIP_DEFLATED)
    yield sink.drain()


def manifest_json(rows: list[Row]) -> str:
    """The manifest as a JSON list of objects."""
    return json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=2) + "\n"


def manifest_csv(rows: list[Row]) -> str:
    """The manifest as CSV with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    return out.getvalue()


def _row(task: Task, image: Image | None, name: str | None, error: str | None) -> Row:
    return Row(
        task_id=task.id, status=str(task.status), index=image.index if image else None,
        prompt=(image.prompt if image else None) or task.prompt, size=task.size,
        seed=image.seed if image else None, model=task.model,
        created_at=task.created_at.isoformat() if task.created_at else None,
        source_url=image.url if image else None, file_name=name, error=error,
    )


def _task_error(task: Task) -> str | None:
    if task.status is Status.DONE:
        return None
    label = task.status.label.lower()  # "still generating", "not found", ...
    if task.status is Status.FAILED:
        return ": ".join(part for part in (task.error_code, task.error_message) if part) or label
    if task.status is Status.UNAVAILABLE:
        return f"{label}: the Flux API failed ({task.error_code})"
    return label


def _when(task: Task) -> tuple[int, int, int, int, int, int]:
    """The zip entry's timestamp: when the task was created (zip cannot store dates before 1980)."""
    if task.created_at and task.created_at.year >= 1980:
        return task.created_at.timetuple()[:6]
    return (1980, 1, 1, 0, 0, 0)


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands back what was written since the last drain."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
