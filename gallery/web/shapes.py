"""The real width and height of kept images whose task named no size in pixels (a ratio such as 16:9, or none).

The grid gives every tile its image's shape before the image loads, so nothing moves when it does. A size in
pixels says the shape exactly; a ratio only roughly (16:9 comes out 1344×768), and a missing size not at all.
For those, the kept thumbnail (or original) says it: reading an image's header costs one small file open.
"""

from collections.abc import Iterable

from PIL import Image

from gallery.flux.models import Status, Task, aspect
from gallery.images.originals import Originals
from gallery.images.thumbnails import Thumbnailer
from gallery.infra.disk import DiskStore


def kept_shapes(tasks: Iterable[Task], store: DiskStore, thumb_size: int) -> dict[tuple[str, int], tuple[int, int]]:
    """(task ID, image index) → (width, height) of the kept images of done tasks that gave no pixel size."""
    shapes = {}
    for task in tasks:
        if task.status is not Status.DONE or (aspect(task.size) and ":" not in (task.size or "")):
            continue
        for image in task.images:
            for key in (Thumbnailer.key(task.id, image.index, thumb_size), Originals.key(task.id, image.index)):
                if size := _header_size(store, key):
                    shapes[task.id, image.index] = size
                    break
    return shapes


def _header_size(store: DiskStore, key: str) -> tuple[int, int] | None:
    """The width and height an image file's header gives, or None when it is not kept (or not an image)."""
    try:
        with Image.open(store.path(key)) as image:  # reads the header; the pixels are never decoded
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError):  # UnidentifiedImageError is an OSError
        return None
