"""Pure shaping: raw Flux task records become frozen domain objects; task IDs are parsed and checked here."""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

# Every task ID the Flux API hands out is a lower-case UUID; anything else never reaches the upstream.
TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SEPARATORS = re.compile(r"[\s,]+")


class BadIds(ValueError):
    """The text given as task IDs cannot make a gallery; the message says why, naming what was wrong."""


class Status(StrEnum):
    """What a task is doing, derived from its record (the API has no state field)."""

    DONE = "done"
    PENDING = "pending"
    FAILED = "failed"
    UNKNOWN = "unknown"
    # Not from a record: the Tasks API failed just now and no copy of this task was kept to stand in.
    UNAVAILABLE = "unavailable"

    @property
    def label(self) -> str:
        """What a card, a link-preview tile or a manifest says about a task in this state: "Still generating"."""
        return STATUS_TEXT[self][0]

    @property
    def counted(self) -> str:
        """The words after a count of such tasks in a gallery's summary: "2 pending"."""
        return STATUS_TEXT[self][1]


# The one table of what the gallery calls each state: its label, and the words after a count.
STATUS_TEXT = {
    Status.DONE: ("Done", "done"),
    Status.PENDING: ("Still generating", "pending"),
    Status.FAILED: ("Failed", "failed"),
    Status.UNKNOWN: ("Not found", "not found"),
    Status.UNAVAILABLE: ("Not loaded", "not loaded"),
}


def parse_ids(text: str, limit: int) -> tuple[str, ...]:
    """Split comma, space or newline separated task IDs, lower-case and de-duplicate them in order."""
    ids: list[str] = []
    bad: list[str] = []
    for part in SEPARATORS.split(text.strip()):
        if not part:
            continue
        candidate = part.lower()
        if not TASK_ID.fullmatch(candidate):
            bad.append(part)
        elif candidate not in ids:
            ids.append(candidate)
    if bad:
        shown = ", ".join(clip(b, 60) for b in bad[:3]) + (" …" if len(bad) > 3 else "")
        noun = "is not a task ID" if len(bad) == 1 else "are not task IDs"
        raise BadIds(f"{shown} {noun}. A task ID looks like 2db0168c-2373-4367-8d9a-9dc778802e8a.")
    if not ids:
        raise BadIds("No task IDs were given. Paste one or more task IDs, separated by commas or spaces.")
    if len(ids) > limit:
        raise BadIds(f"{len(ids)} task IDs were given; one gallery holds at most {limit}.")
    return tuple(ids)


@dataclass(frozen=True)
class Image:
    """One generated image of a task, with what is known about how it was made."""

    index: int
    url: str | None
    prompt: str | None
    seed: str | None
    inference_seconds: float | None


@dataclass(frozen=True)
class Task:
    """One Flux task as the gallery sees it: only the fields it shows, none of the account fields."""

    id: str
    status: Status
    action: str | None = None
    model: str | None = None
    size: str | None = None
    prompt: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed: float | None = None
    trace_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    source_image_url: str | None = None
    images: tuple[Image, ...] = ()

    @property
    def finished(self) -> bool:
        """Whether the task can never change again (done or failed), so its record may be kept for good."""
        return self.status in (Status.DONE, Status.FAILED)


# Who ran a task (account, key, application) is the API owner's business: never kept, shown or returned.
ACCOUNT_FIELDS = frozenset({"user_id", "credential_id", "application_id", "api_id", "actor_user_id",
                            "authorization_id"})


def public_record(record: object) -> dict:
    """A raw task record without its account fields (and {} for anything that is not a record)."""
    if not isinstance(record, dict):
        return {}
    return {key: value for key, value in record.items() if key not in ACCOUNT_FIELDS}


def task_from_record(task_id: str, record: object) -> Task:
    """Turn one raw task record (or None / {} for an unknown ID) into a Task; never raises on odd shapes."""
    if not isinstance(record, dict) or not record:
        return Task(id=task_id, status=Status.UNKNOWN)
    request = _dict(record.get("request"))
    response = record.get("response")
    prompt = _text(request.get("prompt"))
    common = dict(
        id=task_id,
        action=_text(request.get("action")),
        model=_text(request.get("model")),
        size=_text(request.get("size")),
        prompt=prompt,
        created_at=_time(record.get("created_at")),
        finished_at=_time(record.get("finished_at")),
        elapsed=_number(record.get("elapsed")),
        trace_id=_text(record.get("trace_id")),
        source_image_url=http_url(request.get("image_url")),
    )
    if not isinstance(response, dict):
        return Task(status=Status.PENDING, **common)
    if response.get("success") is False:
        code, message = _error(response.get("error"))
        common["trace_id"] = _text(response.get("trace_id")) or common["trace_id"]
        return Task(status=Status.FAILED, error_code=code, error_message=message, **common)
    items = response.get("data")
    if not isinstance(items, list) or not items:
        # A success with no data is a progress snapshot, not a finished task.
        return Task(status=Status.PENDING, **common)
    images = tuple(_image(n, item, prompt) for n, item in enumerate(items))
    return Task(status=Status.DONE, images=images, **common)


def aspect(size: str | None) -> tuple[int, int] | None:
    """The width and height (or ratio) a size string asks for: "1024x768" → (1024, 768), "16:9" → (16, 9)."""
    if not size:
        return None
    match = re.fullmatch(r"\s*(\d{1,5})\s*[x×:*]\s*(\d{1,5})\s*", size)
    if not match:
        return None
    width, height = int(match[1]), int(match[2])
    return (width, height) if width and height else None


def http_url(value: object) -> str | None:
    """The value if it is an absolute http(s) URL without credentials, else None (no javascript:, data: …)."""
    if not isinstance(value, str) or len(value) > 4096:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return value.strip()


def _image(index: int, item: object, task_prompt: str | None) -> Image:
    """One `response.data[]` item in any of its three real shapes."""
    item = _dict(item)
    timings = item.get("timings")
    # `timings` is {"inference": seconds} in one era and a bare unix timestamp in another: only the first is a time.
    inference = _number(timings.get("inference")) if isinstance(timings, dict) else None
    seed = item.get("seed")
    return Image(
        index=index,
        url=http_url(item.get("image_url")),
        prompt=_text(item.get("prompt")) or task_prompt,
        seed=str(seed) if isinstance(seed, int | str) and not isinstance(seed, bool) and str(seed) else None,
        inference_seconds=inference,
    )


def _error(error: object) -> tuple[str | None, str | None]:
    """The code and message of an error that is an object or, sometimes, a bare string."""
    if isinstance(error, dict):
        return _text(error.get("code")), _text(error.get("message"))
    return None, _text(error)


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text or None
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _time(value: object) -> datetime | None:
    """Epoch seconds (float) or an ISO 8601 string as an aware UTC datetime."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and value.strip():
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def clip(text: str, length: int) -> str:
    """`text` cut to at most `length` characters, with an ellipsis when cut."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
