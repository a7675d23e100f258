"""Ready-made view models: what the gallery page and the JSON route show, shaped once for both."""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gallery.flux.models import TASK_ID, Image, Status, Task, aspect
from gallery.images.originals import NO_ADDRESS
from gallery.web.layout import GRID_SIZES, ratio_bucket, tile_sizes

DASH = "—"
# The image address of a card in a <template>: never fetched (a template's content is inert) and replaced by the
# script, but an <img> must name some address to be valid HTML, and this empty data: URL is the smallest.
EMPTY_IMAGE = "data:,"

# One image of a gallery, as the `image` query parameter names it: "<task id>-<image index>".
IMAGE_KEY = re.compile(rf"({TASK_ID.pattern})-(\d{{1,4}})")
# A prompt split into words (letters, digits, apostrophes) and what lies between them.
WORDS = re.compile(r"[\w']+")
# Words too common to show that two prompts are about the same thing.
COMMON = frozenset("a an the of in on at to by for with and or over under into from is it its".split())

PromptParts = tuple[tuple[str, bool], ...]

# How much of the first prompt a gallery's <title> and link preview keep: about what a browser tab or a chat
# app's card shows of a title before cutting it itself.
TITLE_PROMPT = 60
# Where a text may be cut: before a run of spaces. Text with none (Chinese, Japanese, a long URL) is cut anywhere.
SPACE = re.compile(r"\s+")
# Left off the end of a cut text before its ellipsis: a dangling comma, colon or dash reads as a typo.
DANGLING = " \t\n,;:-–—·/"
# How the grid shows its cards: "images" (thumbnails in justified rows, the prompt on hover and focus) or
# "details" (cards with the prompt and settings under each image). The first is the default.
DENSITIES = ("images", "details")
# Thumbnails of about the first screenful load at once and first (fetchpriority="high"); the rest only when
# scrolled near. A laptop shows about three rows of six tiles, a large screen four of seven, a phone six of three.
EAGER_IMAGES = 24


class Urls(Protocol):
    """Builds the gallery's own URLs; views pass one backed by url_for, tests may pass their own."""

    def thumb(self, task_id: str, index: int, size: int) -> str: ...
    def image(self, task_id: str, index: int) -> str: ...
    def gallery(self, ids: tuple[str, ...]) -> str: ...
    def api(self, ids: tuple[str, ...]) -> str: ...


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
    prompt_parts: PromptParts
    request: dict
    error: str | None = None  # why the image could not be loaded, when the server knows it could not
    ratio: float = 1.0  # the tile's shape, width / height, as one of layout.RATIOS
    picks: int = 0  # teammates who picked (starred) it
    pickers: tuple[str, ...] = ()  # their display names, first pick first
    picked_by_me: bool = False  # whether the viewer is one of them
    comments: int = 0

    @property
    def shape(self) -> str:
        """The class that gives the image's tile its shape (layout.ratio_class)."""
        return f"ar{round(self.ratio * 1000)}"

    @property
    def key(self) -> str:
        """What the `image` query parameter holds to point at this image."""
        return image_key(self.task_id, self.index)

    @property
    def alt(self) -> str:
        return clip_words(self.prompt, 200) if self.prompt else f"Image {self.index + 1} of task {self.task_id}"

    @property
    def seed_label(self) -> str:
        return self.seed or DASH

    @property
    def inference_label(self) -> str:
        return _seconds(self.inference_seconds)

    @property
    def thumb_sizes(self) -> str:
        """How wide the card's image is at each viewport width in the "details" grid, whose columns are even."""
        return GRID_SIZES

    @property
    def tile_sizes(self) -> str:
        """How wide the image is in the image-first grid, where its width follows its shape."""
        return tile_sizes(self.ratio)

    def sizes(self, density: str, eager: bool = False) -> str:
        """The `sizes` of the card's image in a grid of `density`; an image loaded at once (`eager`) goes without
        "auto", which only lazy images may use (Chromium reads the whole list as 100vw otherwise)."""
        sizes = self.thumb_sizes if density == "details" else self.tile_sizes
        return sizes.removeprefix("auto, ") if eager else sizes

    @property
    def large_thumb_url(self) -> str:
        """The largest thumbnail: what the lightbox shows while the original loads."""
        return self.thumbnails[max(self.thumbnails)] if self.thumbnails else self.full_url

    @property
    def request_json(self) -> str:
        """The request body that makes this image again, as compact JSON (the copy button lays it out)."""
        # Sorted as the JSON route sorts, and as compact as JSON.stringify writes it: a card the script builds
        # from the JSON carries the very same attribute.
        return json.dumps(self.request, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "key": self.key,
            "prompt": self.prompt,
            "prompt_parts": [list(part) for part in self.prompt_parts],
            "alt": self.alt,
            "seed": self.seed,
            "seed_label": self.seed_label,
            "inference_seconds": self.inference_seconds,
            "inference_label": self.inference_label,
            "url": self.full_url,
            "thumbnails": {str(size): url for size, url in self.thumbnails.items()},
            "thumb": {"src": self.thumb_url, "srcset": self.thumb_srcset, "sizes": self.thumb_sizes,
                      "tile_sizes": self.tile_sizes, "width": self.width, "height": self.height,
                      "shape": self.shape},
            "source_url": self.source_url,
            "error": self.error,
            "request": self.request,
            "picks": self.picks,
            "pickers": list(self.pickers),
            "picked_by_me": self.picked_by_me,
            "comments": self.comments,
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
    prompt_parts: PromptParts
    ratio: float = 1.0  # the shape of the size asked for, for a card without an image (pending, failed…)

    @property
    def shape(self) -> str:
        """The class that gives a card without an image the shape its task asked for (square when unknown)."""
        return f"ar{round(self.ratio * 1000)}"

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
    def error_report(self) -> str | None:
        """What to paste into a report to AceData about a failed task: task ID, trace ID, code and message."""
        if self.status is not Status.FAILED:  # an unavailable task is our trouble reaching the API, not the task's
            return None
        lines = [f"Flux task: {self.id}", f"Trace ID: {self.trace_id or DASH}",
                 f"Error: {self.error_code or 'error'}: {self.error_message or 'no message'}"]
        if self.created_at:
            lines.append(f"Created: {self.created_label}")
        return "\n".join(lines)

    @property
    def status_label(self) -> str:
        return self.status.label

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
            if self.status in (Status.FAILED, Status.UNAVAILABLE) else None,
            "source_image_url": self.source_image_url,
            "images": [image.to_json() for image in self.images],
            "prompt_parts": [list(part) for part in self.prompt_parts],
            "shape": self.shape,
            "error_report": self.error_report,
            "labels": {"status": self.status_label, "size": self.size_label, "model": self.model_label,
                       "action": self.action_label, "created": self.created_label,
                       "elapsed": self.elapsed_label},
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
    unavailable: int = 0

    @property
    def label(self) -> str:
        parts = [f"{plural(self.images, 'image')} from {plural(self.tasks, 'task')}"]
        parts += [f"{count} {status.counted}" for count, status in
                  ((self.pending, Status.PENDING), (self.failed, Status.FAILED), (self.unknown, Status.UNKNOWN),
                   (self.unavailable, Status.UNAVAILABLE)) if count]
        return " · ".join(parts)

    @property
    def waiting(self) -> int:
        """Tasks the page should ask about again: still generating, or not loaded because the API failed."""
        return self.pending + self.unavailable

    def to_json(self) -> dict:
        return {"images": self.images, "tasks": self.tasks, "done": self.done, "pending": self.pending,
                "failed": self.failed, "unknown": self.unknown, "unavailable": self.unavailable,
                "label": self.label}


@dataclass(frozen=True)
class GalleryView:
    """A whole gallery: the tasks in link order, their counts and the gallery's own links."""

    ids: tuple[str, ...]
    tasks: tuple[TaskView, ...]
    summary: Summary
    link: str
    api_link: str
    prompts_differ: bool
    as_of: datetime | None = None  # set when the upstream failed and kept copies are shown
    writable: bool = False  # whether the viewer may pick, comment and collect here (controls are shown)

    @property
    def as_of_label(self) -> str | None:
        return self.as_of.strftime("%Y-%m-%d %H:%M:%S UTC") if self.as_of else None

    @property
    def heading(self) -> str:
        """The page's heading: the counts and the first prompt whole (CSS clamps it to the lines there are)."""
        return self._titled(None)

    @property
    def title(self) -> str:
        """The document and link-preview title: the heading with its prompt cut at a word, to fit a tab or a card."""
        return self._titled(TITLE_PROMPT)

    def _titled(self, length: int | None) -> str:
        first = next((task.prompt for task in self.tasks if task.prompt), None)
        head = plural(self.summary.images, "image") if self.summary.images else plural(self.summary.tasks, "task")
        if not first:
            return head
        return f"{head} · {first if length is None else clip_words(first, length)}"

    @property
    def pending(self) -> bool:
        """Whether the page should ask again: tasks still generating, or not loaded because the API failed."""
        return self.summary.waiting > 0

    @property
    def eager_images(self) -> int:
        """How many images, from the first, load at once and first (the script builds cards the same way)."""
        return EAGER_IMAGES

    @property
    def cards(self) -> tuple["Card", ...]:
        """The grid's cards in order: one per image of a done task, one for any other task."""
        cards: list[Card] = []
        images = 0
        for order, task in enumerate(self.tasks):
            if task.status is not Status.DONE:
                cards.append(Card(task, None, order, False))
                continue
            for image in task.images:
                cards.append(Card(task, image, order, images < EAGER_IMAGES))
                images += 1
        return tuple(cards)

    def to_json(self) -> dict:
        return {
            "ids": list(self.ids),
            "link": self.link,
            "title": self.title,
            "heading": self.heading,
            "prompts_differ": self.prompts_differ,
            "summary": self.summary.to_json(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "writable": self.writable,
            "tasks": [task.to_json() for task in self.tasks],
        }


@dataclass(frozen=True)
class Card:
    """One card of the grid: an image of a task, or a task without images; `eager` for the first screenful."""

    task: TaskView
    image: ImageView | None
    order: int  # the task's place in the gallery, for sorting back to link order
    eager: bool


Shapes = Mapping[tuple[str, int], tuple[int, int]]


class ImageMarks(Protocol):
    """An image's picks and comments as the viewer sees them (gallery/workspace/collections.py's Marks)."""

    picks: int
    pickers: tuple[str, ...]
    mine: bool
    comments: int


Marks = Mapping[tuple[str, int], ImageMarks]


def gallery_view(ids: tuple[str, ...], tasks: list[Task], urls: Urls, thumb_sizes: tuple[int, ...], *,
                 broken: Mapping[tuple[str, int], str] | None = None, as_of: datetime | None = None,
                 shapes: Shapes | None = None, marks: Marks | None = None, writable: bool = False) -> GalleryView:
    """The view model of a gallery of `tasks`, shown in the order of `ids`; `broken` says which images failed,
    `shapes` the real width and height of kept images whose task asked for no size in pixels, `marks` their
    picks and comments."""
    diff = prompt_diff(prompt for task in tasks for prompt in (task.prompt, *(image.prompt for image in task.images)))
    views = tuple(task_view(task, urls, thumb_sizes, diff, broken, shapes, marks) for task in tasks)
    count = {status: sum(1 for task in tasks if task.status is status) for status in Status}
    summary = Summary(
        images=sum(len(view.images) for view in views),
        tasks=len(tasks),
        done=count[Status.DONE],
        pending=count[Status.PENDING],
        failed=count[Status.FAILED],
        unknown=count[Status.UNKNOWN],
        unavailable=count[Status.UNAVAILABLE],
    )
    return GalleryView(ids=ids, tasks=views, summary=summary, link=urls.gallery(ids), api_link=urls.api(ids),
                       prompts_differ=bool(diff), as_of=as_of, writable=writable)


def task_view(task: Task, urls: Urls, thumb_sizes: tuple[int, ...],
              diff: dict[str, PromptParts] | None = None,
              broken: Mapping[tuple[str, int], str] | None = None, shapes: Shapes | None = None,
              marks: Marks | None = None) -> TaskView:
    """The view model of one task; `diff` marks the words of each prompt that the gallery's others lack,
    `broken` says which of its images could not be loaded, `shapes` the real size of kept images, and `marks`
    their picks and comments."""
    diff, broken, shapes, marks = diff or {}, broken or {}, shapes or {}, marks or {}
    asked = aspect(task.size)
    images = tuple(_image_view(task, image, urls, thumb_sizes, _shape(task.size, shapes.get((task.id, image.index))),
                               diff, NO_ADDRESS if image.url is None else broken.get((task.id, image.index)),
                               marks.get((task.id, image.index)))
                   for image in task.images)
    return TaskView(
        id=task.id, status=task.status, action=task.action, model=task.model, size=task.size,
        prompt=task.prompt, created_at=task.created_at, finished_at=task.finished_at, elapsed=task.elapsed,
        trace_id=task.trace_id, error_code=task.error_code, error_message=task.error_message,
        source_image_url=task.source_image_url, images=images, prompt_parts=_parts(task.prompt, diff),
        ratio=ratio_bucket(*asked) if asked else 1.0,
    )


def _shape(size: str | None, known: tuple[int, int] | None) -> tuple[int, int]:
    """An image's width and height or ratio: the pixel size its task asked for; else its real size when it is
    kept (a ratio such as 16:9 comes out a little off: 1344×768); else the ratio asked for; else square."""
    asked = aspect(size)
    if asked and size and ":" not in size:
        return asked
    return known or asked or (1, 1)


def _image_view(task: Task, image: Image, urls: Urls, sizes: tuple[int, ...], shape: tuple[int, int],
                diff: dict[str, PromptParts], error: str | None, mark: ImageMarks | None = None) -> ImageView:
    thumbnails = {size: urls.thumb(task.id, image.index, size) for size in sorted(sizes)}
    smallest = min(sizes)
    width, height = _box(shape, smallest)
    # A thumbnail's size is its longest side; a tile shows the image whole at its own shape, so its width is what
    # counts against `sizes`: a tall image's 384 thumbnail is 216 wide.
    srcset = ", ".join(f"{url} {_box(shape, size)[0]}w" for size, url in thumbnails.items())
    return ImageView(
        task_id=task.id, index=image.index, prompt=image.prompt, seed=image.seed,
        inference_seconds=image.inference_seconds, thumb_url=thumbnails[smallest], thumb_srcset=srcset,
        thumbnails=thumbnails, full_url=urls.image(task.id, image.index), source_url=image.url,
        width=width, height=height, prompt_parts=_parts(image.prompt, diff),
        request=regenerate_request(task, image), error=error, ratio=ratio_bucket(*shape),
        picks=mark.picks if mark else 0, pickers=mark.pickers if mark else (),
        picked_by_me=mark.mine if mark else False, comments=mark.comments if mark else 0,
    )


def blank_task(status: Status) -> TaskView:
    """An empty task of `status` (with one empty image when done): the shape of the cards the script builds.

    The gallery page renders these into <template> elements, so cards made in the browser from the JSON
    route come from the same macros as the cards the server renders.
    """
    image = ImageView(task_id="", index=0, prompt=None, seed=None, inference_seconds=None, thumb_url=EMPTY_IMAGE,
                      thumb_srcset="", thumbnails={}, full_url="", source_url=None, width=1, height=1,
                      prompt_parts=(), request={})
    return TaskView(id="", status=status, action=None, model=None, size=None, prompt=None, created_at=None,
                    finished_at=None, elapsed=None, trace_id=None, error_code=None, error_message=None,
                    source_image_url=None, images=(image,) if status is Status.DONE else (), prompt_parts=())


def blank_tasks() -> dict[str, TaskView]:
    """One empty task of every status, by status: what the gallery page renders into its <template>s."""
    return {str(status): blank_task(status) for status in Status}


def image_key(task_id: str, index: int) -> str:
    """The `image` query parameter that points at image `index` of a task: "<task id>-<index>"."""
    return f"{task_id}-{index}"


def parse_image_key(value: str | None) -> tuple[str, int] | None:
    """The (task ID, image index) an `image` query parameter names, or None when it names none."""
    match = IMAGE_KEY.fullmatch((value or "").strip().lower())
    return (match[1], int(match[2])) if match else None


def find_image(page: GalleryView, key: str | None) -> tuple[TaskView, ImageView] | None:
    """The task and image of a gallery that an `image` query parameter names, or None."""
    named = parse_image_key(key)
    if named is None:
        return None
    for task in page.tasks:
        for image in task.images:
            if (task.id, image.index) == named:
                return task, image
    return None


def regenerate_request(task: Task, image: Image) -> dict:
    """The POST /flux/images body that asks for this image again: same prompt, size, model and seed.

    Unknown values are left out rather than guessed, so the API applies its own defaults. An edit stays an
    edit of the same source image, since a generate with the edit's prompt would make something else.
    """
    body: dict = {"action": "edit" if task.action == "edit" and task.source_image_url else "generate"}
    if image.prompt:
        body["prompt"] = image.prompt
    if body["action"] == "edit":
        body["image_url"] = task.source_image_url
    if task.size:
        body["size"] = task.size
    if task.model:
        body["model"] = task.model
    if image.seed is not None:
        body["seed"] = int(image.seed) if image.seed.isdigit() and len(image.seed) < 16 else image.seed
    return body


def prompt_diff(prompts: Iterable[str | None]) -> dict[str, PromptParts]:
    """For prompt iterations, each prompt split into (text, changed) parts: words not in every prompt are changed.

    Empty when there is nothing to compare: fewer than two different prompts, or prompts that share no
    meaningful word (unrelated prompts would be all highlight and no information).
    """
    distinct = list(dict.fromkeys(prompt for prompt in prompts if prompt))
    if len(distinct) < 2:
        return {}
    words = [{word.lower() for word in WORDS.findall(prompt)} for prompt in distinct]
    shared = set.intersection(*words)
    if not shared - COMMON:
        return {}
    return {prompt: _split(prompt, shared) for prompt in distinct}


def _split(prompt: str, shared: set[str]) -> PromptParts:
    """`prompt` as parts: unchanged text, and runs of changed words joined by the spaces between them."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for match in WORDS.finditer(prompt):
        if match[0].lower() in shared:
            continue
        gap = prompt[at:match.start()]
        if parts and parts[-1][1] and not gap.strip():
            parts[-1] = (parts[-1][0] + gap + match[0], True)
        else:
            if gap:
                parts.append((gap, False))
            parts.append((match[0], True))
        at = match.end()
    if at < len(prompt):
        parts.append((prompt[at:], False))
    return tuple(parts)


def _parts(prompt: str | None, diff: dict[str, PromptParts]) -> PromptParts:
    if not prompt:
        return ()
    return diff.get(prompt) or ((prompt, False),)


def _box(shape: tuple[int, int], longest: int) -> tuple[int, int]:
    """A thumbnail's width and height: `longest` on its longest side, in the image's shape."""
    width, height = shape
    if width >= height:
        return longest, max(1, round(longest * height / width))
    return max(1, round(longest * width / height)), longest


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else DASH


def clip_words(text: str, length: int) -> str:
    """`text` cut to at most `length` characters at the end of a word, with an ellipsis when cut."""
    if len(text) <= length:
        return text
    cut = text[:length - 1]
    if not text[length - 1].isspace():
        ends = [match.start() for match in SPACE.finditer(cut)]
        if ends and ends[-1] >= length // 2:  # a word longer than half the room is cut inside instead
            cut = cut[:ends[-1]]
    return cut.rstrip(DANGLING) + "…"


def plural(count: int, word: str) -> str:
    """A count and its noun: "1 image", "3 images"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"



# ---- Compare: 2 to 4 images side by side (`?compare=<task id>-<n>,…`) -------------------------------------

COMPARE_MIN, COMPARE_MAX = 2, 4


@dataclass(frozen=True)
class ComparePane:
    """One image of a comparison: its task and image, its number, and its prompt marked against the others'."""

    number: int
    task: TaskView
    image: ImageView
    prompt_parts: PromptParts

    @property
    def natural(self) -> str:
        """The original's width and height ("1344x768") when the task asked for pixels; "" when not known."""
        size = aspect(self.task.size)
        return f"{size[0]}x{size[1]}" if size and ":" not in (self.task.size or "") else ""


@dataclass(frozen=True)
class CompareRow:
    """One line of the differences: a setting, its value for each image, and whether they differ."""

    label: str
    values: tuple[str, ...]
    mono: bool = False

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


@dataclass(frozen=True)
class CompareView:
    """The images a compare link names, in its order, with what differs between them written out."""

    panes: tuple[ComparePane, ...]
    rows: tuple[CompareRow, ...]
    link: str  # the page with this comparison open
    close_link: str  # the same page without it

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(pane.image.key for pane in self.panes)

    @property
    def shape(self) -> str:
        """The ratio class of the tallest image: every view has its shape, so none of them is mostly empty."""
        return min((pane.image for pane in self.panes), key=lambda image: image.ratio).shape

    @property
    def prompts_differ(self) -> bool:
        return len({pane.image.prompt for pane in self.panes}) > 1

    @property
    def title(self) -> str:
        """The heading and link-preview title: how many images, and the first prompt cut at a word."""
        first = next((pane.image.prompt for pane in self.panes if pane.image.prompt), None)
        head = f"Comparing {len(self.panes)} images"
        return f"{head} · {clip_words(first, TITLE_PROMPT)}" if first else head

    @property
    def summary(self) -> str:
        """What differs, in a line: "Prompt, seed and inference differ", or "Same prompt and settings"."""
        names = (["prompt"] if self.prompts_differ else []) + [row.label.lower() for row in self.rows if row.differs]
        if not names:
            return "Same prompt and settings"
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return listed[0].upper() + listed[1:] + (" differs" if len(names) == 1 else " differ")

    def to_json(self) -> dict:
        return {
            "keys": list(self.keys),
            "link": self.link,
            "title": self.title,
            "summary": self.summary,
            "images": [{"number": pane.number, "key": pane.image.key, "task_id": pane.task.id,
                        "prompt_parts": [list(part) for part in pane.prompt_parts], "url": pane.image.full_url,
                        "large": pane.image.large_thumb_url, "natural": pane.natural} for pane in self.panes],
            "rows": [{"label": row.label, "values": list(row.values), "differs": row.differs} for row in self.rows],
        }


def parse_compare(value: str | None) -> tuple[tuple[str, int], ...]:
    """The images a `compare` query parameter names, in order, repeats dropped; () unless they are 2 to 4."""
    keys = tuple(dict.fromkeys(key for part in (value or "").split(",") if (key := parse_image_key(part))))
    return keys if COMPARE_MIN <= len(keys) <= COMPARE_MAX else ()


def compare_view(value: str | None, tasks: Iterable[TaskView], link: str, close_link: str) -> CompareView | None:
    """The comparison a `compare` parameter names among `tasks`, or None unless it names 2 to 4 of their images."""
    images = {(task.id, image.index): (task, image) for task in tasks for image in task.images}
    found = [images[key] for key in parse_compare(value) if key in images]
    if len(found) < COMPARE_MIN:
        return None
    diff = prompt_diff(image.prompt for _, image in found)
    panes = tuple(ComparePane(number, task, image, _parts(image.prompt, diff))
                  for number, (task, image) in enumerate(found, 1))
    rows = (
        CompareRow("Seed", tuple(image.seed_label for _, image in found), mono=True),
        CompareRow("Model", tuple(task.model_label for task, _ in found)),
        CompareRow("Size", tuple(task.size_label for task, _ in found)),
        CompareRow("Inference", tuple(image.inference_label for _, image in found)),
        CompareRow("Created", tuple(task.created_label for task, _ in found)),
    )
    return CompareView(panes=panes, rows=rows, link=link, close_link=close_link)
