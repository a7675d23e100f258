"""The gallery's own URLs for the view models, built with url_for."""

from flask import url_for


class FlaskUrls:
    """The gallery's own URLs for the view models. url_for runs once per kind of URL and the result becomes a
    format string, since a gallery of 100 tasks needs hundreds of URLs and url_for is the slow part of it."""

    def __init__(self) -> None:
        self._thumb = _template("gallery.thumb", "task_id", "index", "size")
        self._image = _template("gallery.image", "task_id", "index")

    def thumb(self, task_id: str, index: int, size: int) -> str:
        return self._thumb.format(task_id=task_id, index=index, size=size)

    def image(self, task_id: str, index: int) -> str:
        return self._image.format(task_id=task_id, index=index)

    def gallery(self, ids: tuple[str, ...]) -> str:
        return url_for("gallery.tasks", ids=",".join(ids))

    def api(self, ids: tuple[str, ...]) -> str:
        return url_for("gallery.api_tasks", ids=",".join(ids))


def _template(endpoint: str, *names: str) -> str:
    """url_for with a "{name}" field in place of each named path segment: a str.format template."""
    stand_ins = {name: 7_000_000 + n for n, name in enumerate(names)}  # a number fits every converter
    url = url_for(endpoint, **stand_ins).replace("{", "{{").replace("}", "}}")
    for name, number in stand_ins.items():
        url = url.replace(f"/{number}", f"/{{{name}}}", 1)
    return url
