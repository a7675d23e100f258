"""The Flux Tasks API client: the one place that holds the token and makes every network decision about it."""

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import requests

from gallery.flux.breaker import CircuitBreaker
from gallery.flux.budget import RetryBudget

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05  # slightly over a multiple of 3 s, the TCP retransmission window (requests' advice)
MAX_BODY_BYTES = 8 * 1024 * 1024  # 50 full task records are far smaller; anything bigger is not a Tasks API answer
AUTH_CODES = frozenset({"no_token", "invalid_token", "token_expired", "token_mismatched", "used_up", "disabled"})


class ApiError(Exception):
    """Any way a Tasks API call can fail, as one type views can render.

    `kind` is one of: auth, rejected, rate_limited, unavailable, timeout, bad_response, paused (the circuit
    breaker is open after repeated failures, so no call was made).
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None, code: str | None = None,
                 trace_id: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.trace_id = trace_id
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Whether asking again later may succeed."""
        return self.kind in ("rate_limited", "unavailable", "timeout")


class FluxClient:
    """Retrieves Flux task records by ID, with timeouts, retries under a deadline, and one error type."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0, attempts: int = 3,
                 deadline: float = 15.0, batch_size: int = 50, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, breaker: CircuitBreaker | None = None,
                 budget: RetryBudget | None = None) -> None:
        self.url = base_url.rstrip("/") + "/flux/tasks"
        self._token = token
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.deadline = deadline
        self.batch_size = max(1, batch_size)
        self.backoff = max(0.0, backoff)
        self._sleep = sleep
        self.breaker = breaker or CircuitBreaker()
        self.budget = budget or RetryBudget()
        # requests.Session is not documented as thread-safe, so each thread keeps its own pooled session.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []  # every thread's, to close them all in close()
        self._sessions_lock = threading.Lock()
        # The chunks of a long gallery are asked for together: a 100-task page waits for one round trip, not two.
        self._chunks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tasks-api")

    def __repr__(self) -> str:
        return f"FluxClient({self.url!r})"  # never the token

    def close(self) -> None:
        """End the chunk threads and close every thread's connections; calls after this fail."""
        self._chunks.shutdown(wait=True, cancel_futures=True)
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def fetch(self, ids: Iterable[str]) -> dict[str, dict]:
        """Records by ID for the known IDs among `ids` (unknown IDs are simply absent)."""
        wait = self.breaker.wait()
        if wait is not None:
            raise ApiError("paused", "The Flux API failed repeatedly; this server is giving it a moment.",
                           retry_after=wait)
        try:
            records = self._fetch(list(dict.fromkeys(ids)))
        except ApiError as error:
            if error.transient:
                self.breaker.failed()
            else:
                self.breaker.succeeded()  # it answered, if not as hoped: the upstream is up
            raise
        self.breaker.succeeded()
        return records

    def window(self, created_min: float, created_max: float, *, offset: int = 0, limit: int = 50
               ) -> tuple[list[dict], int]:
        """One page of the tasks created in [created_min, created_max] (Unix seconds, both inclusive), newest
        first, and how many there are in all."""
        body = self._call({"action": "retrieve_batch", "created_at_min": created_min, "created_at_max": created_max,
                           "offset": offset, "limit": limit}, time.monotonic() + self.deadline)
        items = body.get("items") if isinstance(body, dict) else None
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(items, list) or isinstance(count, bool) or not isinstance(count, int):
            raise ApiError("bad_response", "The Flux API answered a time-window batch without items and a count.")
        return [item for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)], count

    def _fetch(self, ids: list[str]) -> dict[str, dict]:
        stop = time.monotonic() + self.deadline
        if len(ids) == 1:
            record = self._call({"action": "retrieve", "id": ids[0]}, stop)
            return {ids[0]: record} if isinstance(record, dict) and record.get("id") == ids[0] else {}
        chunks = [ids[start : start + self.batch_size] for start in range(0, len(ids), self.batch_size)]
        if len(chunks) == 1:
            return self._batch(chunks[0], stop)
        records: dict[str, dict] = {}
        for found in self._chunks.map(lambda chunk: self._batch(chunk, stop), chunks):
            records.update(found)
        return records

    def _batch(self, chunk: list[str], stop: float) -> dict[str, dict]:
        """Records by ID from one `retrieve_batch` call, keeping only the IDs asked for."""
        # The platform's default `limit` is 12: without it, a longer batch would be cut short.
        body = self._call({"action": "retrieve_batch", "ids": chunk, "limit": len(chunk)}, stop)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ApiError("bad_response", "The Flux API answered a batch without an item list.")
        wanted = set(chunk)
        return {item["id"]: item for item in items if isinstance(item, dict) and item.get("id") in wanted}

    def _call(self, payload: dict, stop: float) -> object:
        """POST one action, retrying 429/5xx/connection failures with backoff and jitter until `stop`."""
        self.budget.called()
        for attempt in range(1, self.attempts + 1):
            try:
                return self._post(payload, stop)
            except ApiError as error:
                wait = self._backoff(attempt, error)
                if not error.transient or attempt == self.attempts or time.monotonic() + wait >= stop:
                    raise
                if not self.budget.try_retry():
                    log.warning("Tasks API %s; not retrying, the retry budget is spent", error.kind)
                    raise
                log.info("Tasks API %s (%s); retry %d in %.2f s", error.kind, error.code or error.status,
                         attempt, wait)
                self._sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, error: ApiError) -> float:
        """Exponential backoff from `backoff` seconds, capped at 8 times that, with up to `backoff` of jitter;
        stretched to the server's Retry-After when it sends one."""
        wait = min(self.backoff * 2 ** (attempt - 1), self.backoff * 8) + random.uniform(0, self.backoff)
        return max(wait, error.retry_after or 0.0)

    def _post(self, payload: dict, stop: float) -> object:
        """One POST, its failures translated into ApiError."""
        remaining = stop - time.monotonic()
        if remaining <= 0:
            raise ApiError("timeout", "The Flux API did not answer in time.")
        timeout = (min(CONNECT_TIMEOUT, remaining), min(self.timeout, remaining))
        try:
            with self._session().post(self.url, json=payload, timeout=timeout, stream=True,
                                      allow_redirects=False) as response:
                body = _read_capped(response)
                status = response.status_code
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except requests.Timeout:
            raise ApiError("timeout", "The Flux API did not answer in time.") from None
        except requests.RequestException as error:
            log.warning("Tasks API unreachable: %s", type(error).__name__)
            raise ApiError("unavailable", "The Flux API could not be reached.") from None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if status == 200 and data is not None:
            return data
        raise self._error(status, data, retry_after)

    def _error(self, status: int, data: object, retry_after: float | None) -> ApiError:
        """The ApiError for a non-200 or non-JSON answer, from the documented envelope where there is one."""
        envelope = data if isinstance(data, dict) else {}
        error = envelope.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        code = code if isinstance(code, str) else None
        message = self._redact(message) if isinstance(message, str) else None
        trace = envelope.get("trace_id") if isinstance(envelope.get("trace_id"), str) else None
        if status == 200:
            kind, message = "bad_response", "The Flux API sent an answer that is not JSON."
        elif status == 429:
            kind = "rate_limited"
        elif status in (401, 403) or code in AUTH_CODES:
            kind = "auth"
        elif 400 <= status < 500:
            kind = "rejected"
        elif status == 504:
            kind = "timeout"
        elif status >= 500:
            kind = "unavailable"
        else:
            kind = "bad_response"
        log.warning("Tasks API answered %s %s", status, code or "")
        return ApiError(kind, message or f"The Flux API answered HTTP {status}.", status=status, code=code,
                        trace_id=trace, retry_after=retry_after)

    def _redact(self, text: str) -> str:
        """Upstream text with this client's token cut out, should the upstream ever echo it."""
        return text.replace(self._token, "[token]") if self._token else text

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxy or .netrc from the environment may see or replace the token
            session.headers.update({
                "accept": "application/json",
                "content-type": "application/json",
                "authorization": f"Bearer {self._token}",
            })
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session


def _read_capped(response: requests.Response) -> bytes:
    """The response body, refusing anything larger than a Tasks API answer can be."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError("bad_response", "The Flux API sent an answer that is far too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (the HTTP-date form is ignored)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None
