"""Generated tasks for the emulator's `POST /flux/images`: request checks, task records and callback delivery.

Flask-free on purpose, so callback threads never need an application context. The shapes are those of the
generation, callback and "Response shapes" sections of docs/flux-api.md.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from flux_emulator import artwork

# Every model the platform lists today, plus the two older names that tasks still carry (some samples use them).
MODELS = frozenset({
    "flux-dev", "flux-pro", "flux-kontext-pro", "flux-kontext-max",
    "flux-2-flex", "flux-2-pro", "flux-2-max", "flux-2-klein",
    "flux-pro-1.1", "flux-pro-1.1-ultra",
})
MAX_COUNT = 4
MODERATION_MESSAGE = "Sorry! Our AI moderators feel your prompt might be against our community standards."
# A prompt with one of these words fails after GENERATE_SECONDS, so failure callbacks and pages can be tested.
FAILURE_WORDS: dict[str, dict[str, str]] = {
    "nsfw": {"code": "forbidden", "message": MODERATION_MESSAGE},
}
# The HTTP status a synchronous call answers with when its task failed, by error code ("Errors" in docs/flux-api.md).
FAILURE_STATUS = {"forbidden": 403, "api_error": 500, "timeout": 504, "service_unavailable": 503}
# How long after creation a task counts as started: the platform queues it for a moment first.
START_DELAY = 0.06

SIZE_PIXELS = re.compile(r"\s*(\d+)\s*[xX×*]\s*(\d+)\s*")
SIZE_RATIO = re.compile(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*")

_seeds = random.SystemRandom()


def _is_web_url(value: Any) -> bool:
    """Whether value is an absolute http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # such as an unclosed "[" of an IPv6 host
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _size_ok(size: str) -> bool:
    """Loose size check: any positive `WxH` or `x:y`, since the sources disagree on which models take which."""
    if match := SIZE_PIXELS.fullmatch(size):
        return all(int(side) > 0 for side in match.groups())
    if match := SIZE_RATIO.fullmatch(size):
        return all(float(side) > 0 for side in match.groups())
    return False


def _count(value: Any) -> int | None:
    """The image count, 1 when missing; None unless a whole number from 1 to MAX_COUNT."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():  # also refuses NaN and Infinity, which JSON parsing allows
        return None
    return int(value) if 1 <= value <= MAX_COUNT else None


def problem(body: dict[str, Any]) -> str | None:
    """The bad_request message for a generation body, or None when the body is acceptable."""
    action = body.get("action", "generate")
    if action not in ("generate", "edit"):
        return "action must be generate or edit."
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required."
    size = body.get("size")
    # Required, as the platform answers today (generation in docs/flux-api.md); 1:1 is only what clients default to.
    if size is None:
        return "size is required"
    if not isinstance(size, str) or not _size_ok(size):
        return "size is invalid, use WxH pixels or a ratio such as 16:9."
    if body.get("model") is not None and body["model"] not in MODELS:
        return "model is invalid."
    if action == "generate" and _count(body.get("count")) is None:
        return f"count must be a whole number from 1 to {MAX_COUNT}."
    if action == "edit" and not _is_web_url(body.get("image_url")):
        return "image_url is required for edit, as an http(s) URL."
    if body.get("async") is not None and not isinstance(body["async"], bool):
        return "async must be true or false."
    if body.get("callback_url") is not None and not _is_web_url(body["callback_url"]):
        return "callback_url is invalid, use an http(s) URL."
    return None


def failure_for(prompt: str) -> dict[str, str] | None:
    """The error a prompt's trigger word forces, if it has one."""
    for word, error in FAILURE_WORDS.items():
        if re.search(rf"\b{re.escape(word)}\b", prompt, re.IGNORECASE):
            return dict(error)
    return None


@dataclass(frozen=True)
class GeneratedTask:
    """One task made through the emulator: what was asked, when it finishes, and its images' seeds."""

    id: str
    trace_id: str
    oid: str  # the Mongo `_id`, its first 8 hex digits the creation time as in ObjectIds
    created_at: float
    started_at: float
    finished_at: float
    due: float  # time.monotonic() at which it is done; wall clocks may jump, this may not
    request: dict[str, Any]  # as sent
    seeds: tuple[int, ...]
    width: int
    height: int
    error: dict[str, str] | None = None

    @classmethod
    def create(cls, body: dict[str, Any], seconds: float) -> GeneratedTask:
        """A new task for an accepted body that will take `seconds` to finish."""
        created_at = round(time.time(), 3)
        error = failure_for(body["prompt"])
        count = 1 if body.get("action") == "edit" else _count(body.get("count"))
        width, height = artwork.size_for(body["size"])
        return cls(
            id=str(uuid.uuid4()),
            trace_id=str(uuid.uuid4()),
            oid=f"{int(created_at):08x}{secrets.token_hex(8)}",
            created_at=created_at,
            started_at=round(created_at + min(START_DELAY, seconds), 3),
            finished_at=round(created_at + seconds, 3),
            due=time.monotonic() + seconds,
            request=body,
            # A random seed per image, as Flux picks one when none is given; the drawing follows from it.
            seeds=() if error else tuple(_seeds.randrange(1, 2**31) for _ in range(count or 1)),
            width=width,
            height=height,
            error=error,
        )

    def remaining(self) -> float:
        """Seconds until it is done (0 once done)."""
        return max(0.0, self.due - time.monotonic())

    def finished(self) -> bool:
        """Whether it is done by now."""
        return self.remaining() == 0.0

    def image_name(self, n: int) -> str:
        """File name of image n under /media/<id>/."""
        return f"{n}.png"

    def result(self, base: str) -> dict[str, Any]:
        """The final body: the sync answer, the callback body and the record's `response` (base ends in /)."""
        body: dict[str, Any] = {"success": self.error is None, "task_id": self.id, "trace_id": self.trace_id}
        if self.error is not None:
            body["error"] = dict(self.error)
            return body
        prompt = self.request["prompt"]
        body["data"] = [
            {"prompt": prompt, "image_url": f"{base}media/{self.id}/{self.image_name(n)}", "seed": seed,
             "timings": {"inference": round(2.8 + seed % 997 / 1000, 3)}}
            for n, seed in enumerate(self.seeds)
        ]
        return body

    def record(self, base: str, account: dict[str, str]) -> dict[str, Any]:
        """The task record `retrieve` returns: no `finished_at`, `elapsed` or `response` until it is done."""
        record: dict[str, Any] = {
            "_id": self.oid,
            "id": self.id,
            "type": "images",
            **account,
            "trace_id": self.trace_id,
            "created_at": self.created_at,
            "started_at": self.started_at,
        }
        if not self.finished():
            record["request"] = self.request
            return record
        record.update(finished_at=self.finished_at, elapsed=round(self.finished_at - self.started_at, 3),
                      request=self.request, response=self.result(base))
        return record


@dataclass
class Delivery:
    """The callback of one task: POSTed once it is done, retried on connection errors and 5xx, cancellable."""

    task: GeneratedTask
    url: str
    body: dict[str, Any]
    timeout: float
    retries: int
    backoff: float  # the first retry waits this long, each later one twice the one before
    status: str = "scheduled"  # then "delivered", "rejected" (a 1xx/3xx/4xx answer), "failed" or "cancelled"
    attempts: int = 0
    answers: list[int | str] = field(default_factory=list)  # each attempt's HTTP status or error name
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def start(self) -> Delivery:
        """Deliver from a daemon thread of its own, so no request thread ever waits for a receiver."""
        self.thread = threading.Thread(target=self._run, name=f"flux-callback-{self.task.id[:8]}", daemon=True)
        self.thread.start()
        return self

    def stop(self, wait: float = 0.0) -> None:
        """Cancel any attempt not yet begun, waiting up to `wait` seconds for the thread to end."""
        self.cancel.set()
        if wait and self.thread is not None:
            self.thread.join(wait)

    def as_json(self) -> dict[str, Any]:
        """What the stats hook shows about it."""
        with self.lock:
            return {"task_id": self.task.id, "url": self.url, "status": self.status, "attempts": self.attempts,
                    "answers": list(self.answers)}

    def _settle(self, status: str) -> None:
        with self.lock:
            self.status = status

    def _run(self) -> None:
        """Wait for the task to finish, then POST until an answer settles it or the retries run out."""
        try:
            if self.cancel.wait(self.task.remaining()):
                return self._settle("cancelled")
            for attempt in range(self.retries + 1):
                if attempt and self.cancel.wait(self.backoff * 2 ** (attempt - 1)):
                    return self._settle("cancelled")
                answer = self._post()
                if isinstance(answer, int) and answer < 500:
                    return self._settle("delivered" if 200 <= answer < 300 else "rejected")
            self._settle("failed")
        except Exception as exc:  # a dying daemon thread would only print; the stats hook should say why
            with self.lock:
                self.answers.append(type(exc).__name__)
                self.status = "failed"

    def _post(self) -> int | str:
        """One attempt: the receiver's status code, or the name of the connection error."""
        with self.lock:
            self.attempts += 1
        try:
            # Redirects are not followed: a receiver that moved should not get the result re-sent elsewhere.
            response = requests.post(self.url, json=self.body, timeout=self.timeout, allow_redirects=False)
            response.close()
            answer: int | str = response.status_code
        except requests.RequestException as exc:
            answer = type(exc).__name__
        with self.lock:
            self.answers.append(answer)
        return answer
