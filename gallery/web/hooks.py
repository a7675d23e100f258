"""The Flux API's callback: `POST /hooks/flux/<secret>` says a task finished; the server then asks for it once."""

import hmac
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from gallery.flux.client import ApiError
from gallery.flux.models import TASK_ID
from gallery.services import services

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)

MAX_BODY = 256 * 1024  # a callback names a task and its image links; 4 images take a few kB
# The API may send the callback a moment before its Tasks API shows the task finished: ask a few times.
RETRIES = (0.0, 1.0, 3.0, 10.0)


def init_app(app: Flask) -> None:
    """Add the callback route, only when a secret is set: with none, the route does not exist at all."""
    if not app.config.get("CALLBACK_SECRET"):
        return
    app.extensions["callbacks"] = Callbacks(app)
    app.register_blueprint(bp)


@bp.post("/hooks/flux/<secret>")
def flux_callback(secret: str) -> Response:
    """Accept a callback: check the secret, the size and the shape, then fetch the task in the background."""
    expected = str(current_app.config["CALLBACK_SECRET"]).encode()
    if not hmac.compare_digest(secret.encode(), expected):
        abort(404)  # the same answer as for any other unknown address
    request.max_content_length = MAX_BODY
    body = request.get_json(force=True, silent=True)
    task_id = body.get("task_id") if isinstance(body, dict) else None
    if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id) or not isinstance(body.get("success"), bool):
        # Never echo what was sent: say only what a callback must hold.
        return _answer({"error": "a callback is a JSON object with a task_id and success"}, 400)
    current_app.extensions["callbacks"].fetch_later(task_id)
    return _answer({"accepted": True}, 202)


def _answer(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


class Callbacks:
    """Fetches called-back tasks on a small pool of threads, once per task at a time, and keeps them."""

    def __init__(self, app: Flask, retries: tuple[float, ...] = RETRIES) -> None:
        self.app = app
        self.retries = tuple(app.config.get("CALLBACK_RETRIES") or retries)
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="flux-callback")
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def fetch_later(self, task_id: str) -> None:
        """Fetch and keep `task_id` soon; a repeat while one is under way changes nothing."""
        with self._lock:
            if task_id in self._pending:
                return
            self._pending.add(task_id)
        self._pool.submit(self._fetch, task_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no callback is being fetched (for tests and a clean stop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def _fetch(self, task_id: str) -> None:
        try:
            with self.app.app_context():
                s = services()
                for delay in self.retries:
                    time.sleep(delay)
                    try:
                        task, record = s.tasks.refresh(task_id)
                    except ApiError as error:
                        log.warning("callback for %s: the Tasks API failed (%s)", task_id, error.kind)
                        continue
                    if task.finished:
                        s.kept.keep(task, record, "callback")
                        return
                log.warning("callback for %s: the task never showed as finished; not kept", task_id)
        except Exception:
            log.exception("callback for %s failed", task_id)
        finally:
            with self._lock:
                self._pending.discard(task_id)
