"""A collection of 10,000 images: its first page (HTML) timed against a 10-task gallery's, in the same run.

`build_collection` makes such a collection fast in any gallery database (the lead's browser measurement uses it
too); `run` times both pages on one in-process server, with the page cache off so each view is drawn afresh.
"""

import statistics
import tempfile
import time
from pathlib import Path

IMAGES = 10_000
PER_TASK = 4
GALLERY_TASKS = 10
RUNS = 30
TARGET_RATIO = 1.5  # the collection's first page within 1.5× the 10-task gallery's


def synthetic_record(n: int) -> dict:
    """A finished task of four images whose addresses refuse at once (only pages are timed, never images)."""
    task_id = f"c0{n:06x}-0000-4000-8000-{n:012x}"
    created = 1_790_000_000 + n * 60
    return {"id": task_id, "created_at": created, "finished_at": created + 4,
            "request": {"action": "generate", "prompt": f"a paper kite over the dunes, study {n}",
                        "model": "flux-dev", "size": "1024x1024"},
            "response": {"success": True, "data": [{"image_url": f"http://127.0.0.1:9/{task_id}/{i}.png",
                                                    "seed": n * 10 + i} for i in range(PER_TASK)]}}


def build_collection(app, images: int = IMAGES, title: str = "Ten thousand kites") -> tuple[str, list[str]]:
    """Keep images / 4 synthetic tasks in `app`'s database and make one collection of all their images, in a few
    transactions; its slug, and the task IDs (the first ten make the gallery to compare with)."""
    from gallery.flux.models import task_from_record
    from gallery.workspace.collections import Author, Ref

    services = app.extensions["gallery"]
    records = [synthetic_record(n) for n in range(-(-images // PER_TASK))]
    for first in range(0, len(records), 2000):
        chunk = records[first:first + 2000]
        services.kept.keep_many([(task_from_record(r["id"], r), r) for r in chunk], "import")
    refs = [Ref(r["id"], index) for r in records for index in range(PER_TASK)][:images]
    info = services.collections.create(title, "Made by bench/collections.py", refs, Author("bench", "bench"))
    return info.slug, [r["id"] for r in records]


def run(runs: int = RUNS, images: int = IMAGES) -> dict:
    """Median milliseconds to serve the first page of a collection of `images` and of a 10-task gallery."""
    import requests

    from app import create_app
    from flux_emulator.server import ServerThread

    with tempfile.TemporaryDirectory(prefix="bench-collections-") as folder:
        app = create_app({"ACEDATACLOUD_API_TOKEN": "bench", "EMULATOR": "off", "CACHE_DIR": folder,
                          "DATABASE_URL": f"sqlite:///{Path(folder) / 'gallery.db'}", "PAGE_CACHE_BYTES": 0,
                          "RATE_LIMIT": 0, "IMAGE_RATE_LIMIT": 0, "WRITE_RATE_LIMIT": 0})
        began = time.perf_counter()
        slug, ids = build_collection(app, images)
        build_seconds = time.perf_counter() - began
        session = requests.Session()
        with ServerThread(app) as server:
            pages = {"collection": f"{server.url}/c/{slug}",
                     "gallery": f"{server.url}/tasks/{','.join(ids[:GALLERY_TASKS])}"}
            times: dict[str, list[float]] = {name: [] for name in pages}
            for url in pages.values():
                session.get(url, timeout=60).raise_for_status()  # warm: task records in memory, as in use
            for _ in range(runs):  # interleaved, so a neighbour's burst costs both alike
                for name, url in pages.items():
                    started = time.perf_counter()
                    session.get(url, timeout=60).raise_for_status()
                    times[name].append(time.perf_counter() - started)
        app.extensions["gallery"].close()
    collection_ms = statistics.median(times["collection"]) * 1000
    gallery_ms = statistics.median(times["gallery"]) * 1000
    return {"images": images, "build_seconds": build_seconds, "collection_first_page_ms": collection_ms,
            "gallery_10_tasks_ms": gallery_ms, "ratio": collection_ms / gallery_ms, "target_ratio": TARGET_RATIO}


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(json.dumps(run(images=int(sys.argv[1]) if len(sys.argv) > 1 else IMAGES), indent=2))
