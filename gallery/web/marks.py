"""Picks and comment counts for the cards of a page, in one query, and what a cached page depends on for them."""

from collections.abc import Iterable, Mapping

from gallery.flux.models import Task
from gallery.services import services
from gallery.web import identity
from gallery.workspace.collections import Marks


def marks_for(tasks: Iterable[Task]) -> dict[tuple[str, int], Marks]:
    """The picks and comments of every image of `tasks`, as the current viewer sees them."""
    keys = [(task.id, image.index) for task in tasks for image in task.images]
    return services().collections.marks(keys, identity.viewer().author_id or "")


def page_variant(marks: Mapping[tuple[str, int], Marks]) -> tuple:
    """What a rendered page holds of its marks and viewer, for its cache key: a pick or a comment renders anew."""
    return (tuple(sorted((key, mark.picks, mark.pickers, mark.mine, mark.comments) for key, mark in marks.items())),
            identity.viewer().key())


def only_picked(tasks: list[Task], marks: Mapping[tuple[str, int], Marks]) -> list[Task]:
    """The tasks with their picked images only, for the Picks filter (`picks=1`); tasks left without any go."""
    from dataclasses import replace

    kept = []
    for task in tasks:
        images = tuple(image for image in task.images if (task.id, image.index) in marks
                       and marks[task.id, image.index].picks)
        if images:
            kept.append(replace(task, images=images))
    return kept


def picks_wanted(args: Mapping[str, str]) -> bool:
    """Whether a request asks for the Picks filter (`picks=1`)."""
    return args.get("picks") in ("1", "true", "on", "yes")
