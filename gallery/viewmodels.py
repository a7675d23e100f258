"""Ready-made view models: what the gallery page and the JSON route show, shaped once for both."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gallery.models import Image, Status, Task, aspect, clip

DASH = "—"
NO_ADDRESS = "the task gives no usable image address"


class Urls(Protocol):
    """Builds the gallery's own URLs; views pass one backed by url_for, tests may pass their own."""

    def thumb(self, task_id: str, index: int, size: int) -> str: ...
    def image(self, task_id: str, index: int) -> str: ...
    def gallery(self, ids: tuple[str, ...]) -> str: ...


@dataclass(frozen=True)
class ImageView:
    """One image card: thumbnails, links and labels, ready to print."""

    task_id: str
    index: int
    prompt: str | None
    seed: str | None
    inference_seconds: float | None
    thumb_url: str
    thumb_srcset: str
    thumbnails: dict[int, str]
    full_url: str
    source_url: str | None
    width: int
    height: int
    error: str | None = None  # why the image could not be loaded, when the server knows it could not

    @property
    def alt(self) -> str:
        return clip(self.prompt, 200) if self.prompt else f"Image {self.index + 1} of task {self.task_id}"

    @property
    def seed_label(self) -> str:
        return self.seed or DASH

    @property
    def inference_label(self) -> str:
        return _seconds(self.inference_seconds)

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "prompt": self.prompt,
            "seed": self.seed,
            "inference_seconds": self.inference_seconds,
            "url": self.full_url,
            "thumbnails": {str(size): url for size, url in self.thumbnails.items()},
            "source_url": self.source_url,
            "error": self.error,
        }


@dataclass(frozen=True)
class TaskView:
    """One task: its status and metadata, and its image cards when it is done."""

    id: str
    status: Status
    action: str | None
    model: str | None
    size: str | None
    prompt: str | None
    created_at: datetime | None
    finished_at: datetime | None
    elapsed: float | None
    trace_id: str | None
    error_code: str | None
    error_message: str | None
    source_image_url: str | None
    images: tuple[ImageView, ...]

    @property
    def model_label(self) -> str:
        return self.model or "default"

    @property
    def size_label(self) -> str:
        return self.size.replace("x", "×") if self.size else DASH

    @property
    def action_label(self) -> str:
        return self.action or DASH

    @property
    def created_label(self) -> str:
        return self.created_at.strftime("%Y-%m-%d %H:%M UTC") if self.created_at else DASH

    @property
    def created_iso(self) -> str | None:
        return self.created_at.isoformat() if self.created_at else None

    @property
    def elapsed_label(self) -> str:
        return _seconds(self.elapsed)

    @property
    def status_label(self) -> str:
        return {
            Status.DONE: "Done",
            Status.PENDING: "Still generating",
            Status.FAILED: "Failed",
            Status.UNKNOWN: "Not found",
        }[self.status]

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "status": str(self.status),
            "action": self.action,
            "model": self.model,
            "size": self.size,
            "prompt": self.prompt,
            "created_at": self.created_iso,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "elapsed_seconds": self.elapsed,
            "trace_id": self.trace_id,
            "error": {"code": self.error_code, "message": self.error_message}
            if self.status is Status.FAILED else None,
            "source_image_url": self.source_image_url,
            "images": [image.to_json() for image in self.images],
        }


@dataclass(frozen=True)
class Summary:
    """Counts for the line above the grid."""

    images: int
    tasks: int
    done: int
    pending: int
    failed: int
    unknown: int

    @property
    def label(self) -> str:
        parts = [f"{_plural(self.images, 'image')} from {_plural(self.tasks, 'task')}"]
        parts += [f"{count} {word}" for count, word in
                  ((self.pending, "pending"), (self.failed, "failed"), (self.unknown, "not found")) if count]
        return " · ".join(parts)

    def to_json(self) -> dict:
        return {"images": self.images, "tasks": self.tasks, "done": self.done, "pending": self.pending,
                "failed": self.failed, "unknown": self.unknown}


@dataclass(frozen=True)
class GalleryView:
    """A whole gallery: the tasks in link order, their counts and the gallery's own links."""

    ids: tuple[str, ...]
    tasks: tuple[TaskView, ...]
    summary: Summary
    link: str
    as_of: datetime | None = None  # set when the upstream failed and kept copies are shown

    @property
    def as_of_label(self) -> str | None:
        return self.as_of.strftime("%Y-%m-%d %H:%M:%S UTC") if self.as_of else None

    @property
    def title(self) -> str:
        first = next((task.prompt for task in self.tasks if task.prompt), None)
        head = _plural(self.summary.images, "image") if self.summary.images else _plural(self.summary.tasks, "task")
        return f"{head} · {clip(first, 60)}" if first else head

    @property
    def pending(self) -> bool:
        return self.summary.pending > 0

    def to_json(self) -> dict:
        return {
            "ids": list(self.ids),
            "link": self.link,
            "summary": self.summary.to_json(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "tasks": [task.to_json() for task in self.tasks],
        }


def gallery_view(ids: tuple[str, ...], tasks: list[Task], urls: Urls, thumb_sizes: tuple[int, ...], *,
                 broken: Mapping[tuple[str, int], str] | None = None, as_of: datetime | None = None) -> GalleryView:
    """The view model of a gallery of `tasks`, shown in the order of `ids`; `broken` says which images failed."""
    views = tuple(task_view(task, urls, thumb_sizes, broken) for task in tasks)
    count = {status: sum(1 for task in tasks if task.status is status) for status in Status}
    summary = Summary(
        images=sum(len(view.images) for view in views),
        tasks=len(tasks),
        done=count[Status.DONE],
        pending=count[Status.PENDING],
        failed=count[Status.FAILED],
        unknown=count[Status.UNKNOWN],
    )
    return GalleryView(ids=ids, tasks=views, summary=summary, link=urls.gallery(ids), as_of=as_of)


def task_view(task: Task, urls: Urls, thumb_sizes: tuple[int, ...],
              broken: Mapping[tuple[str, int], str] | None = None) -> TaskView:
    """The view model of one task."""
    width, height = _box(task.size, min(thumb_sizes))
    broken = broken or {}
    images = tuple(_image_view(task, image, urls, thumb_sizes, width, height,
                               NO_ADDRESS if image.url is None else broken.get((task.id, image.index)))
                   for image in task.images)
    return TaskView(
        id=task.id, status=task.status, action=task.action, model=task.model, size=task.size,
        prompt=task.prompt, created_at=task.created_at, finished_at=task.finished_at, elapsed=task.elapsed,
        trace_id=task.trace_id, error_code=task.error_code, error_message=task.error_message,
        source_image_url=task.source_image_url, images=images,
    )


def _image_view(task: Task, image: Image, urls: Urls, sizes: tuple[int, ...], width: int,
                height: int, error: str | None) -> ImageView:
    thumbnails = {size: urls.thumb(task.id, image.index, size) for size in sorted(sizes)}
    smallest = min(sizes)
    srcset = ", ".join(f"{url} {size / smallest:g}x" for size, url in thumbnails.items())
    return ImageView(
        task_id=task.id, index=image.index, prompt=image.prompt, seed=image.seed,
        inference_seconds=image.inference_seconds, thumb_url=thumbnails[smallest], thumb_srcset=srcset,
        thumbnails=thumbnails, full_url=urls.image(task.id, image.index), source_url=image.url,
        width=width, height=height, error=error,
    )


def _box(size: str | None, longest: int) -> tuple[int, int]:
    """The thumbnail's expected width and height, from the size the task asked for (square when unknown)."""
    width, height = aspect(size) or (1, 1)
    if width >= height:
        return longest, max(1, round(longest * height / width))
    return max(1, round(longest * width / height)), longest


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else DASH


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"

