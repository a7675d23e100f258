"""Compare links: `?compare=<task id>-<n>,…` on a gallery, Recent or search page opens 2 to 4 images side by side,
drawn by the server (so the link works without the script and unfurls as the compared images)."""

from collections.abc import Iterable
from urllib.parse import urlencode

from flask import request

from gallery.services import services
from gallery.web.urls import FlaskUrls
from gallery.web.viewmodels import CompareView, TaskView, compare_view, gallery_view, parse_compare

PARAM = "compare"


def for_tasks(tasks: Iterable[TaskView]) -> CompareView | None:
    """The comparison this request's `compare` names among a gallery's tasks, or None."""
    value = request.args.get(PARAM)
    if not value:
        return None
    return compare_view(value, tasks, *_links(value))


def for_any() -> CompareView | None:
    """The comparison this request's `compare` names among any tasks (Recent and search show kept tasks of every
    gallery; a compare link may name images from pages not loaded yet), or None."""
    value = request.args.get(PARAM)
    named = parse_compare(value)
    if not named:
        return None
    s = services()
    ids = tuple(dict.fromkeys(task_id for task_id, _ in named))
    view = gallery_view(ids, s.tasks.get_many(ids), FlaskUrls(), s.thumb_sizes)
    return compare_view(value, view.tasks, *_links(value))


def _links(value: str) -> tuple[str, str]:
    """This page with the comparison open (its canonical form), and without it (nor a one-image link)."""
    args = [(name, arg) for name, arg in request.args.items(multi=True) if name not in (PARAM, "image", "density")]
    close = f"{request.path}?{urlencode(args)}" if args else request.path
    keys = ",".join(key.strip().lower() for key in value.split(",") if key.strip())
    return f"{request.path}?{urlencode([*args, (PARAM, keys)], safe=',')}", close
