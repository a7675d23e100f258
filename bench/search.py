"""Search and keeping at scale: 100,000 synthetic kept tasks in SQLite, timed as the app runs its queries."""

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

TASKS = 100_000
RUNS = 200
TARGET_P95_MS = 50.0
SUBJECTS = ("lighthouse", "siamese cat", "mountain lake", "city street", "koi pond", "red fox", "paper lantern",
            "astronaut", "weathervane", "tea house", "glacier", "violin", "desert caravan", "robot gardener")
STYLES = ("oil painting", "watercolor", "35mm photo", "ukiyo-e print", "isometric render", "charcoal sketch")
MOODS = ("at dusk", "in fog", "at sunrise", "under neon rain", "in deep winter", "on a summer afternoon")
CJK = ("一只白色的暹罗猫", "夕焼けの富士山", "雨中的灯塔", "桜の並木道")
MODELS = ("flux-dev", "flux-pro", "flux-2-pro", "flux-kontext-pro")
SIZES = ("1024x1024", "1344x768", "768x1344", "16:9", "1:1", "3:2")
WORD_QUERIES = ("lighthouse", "fox", "koi pond", "watercolor", "astron", '"red fox"', "猫", "富士山")
FILTERED_QUERIES = ("lighthouse model:flux-dev", "fox after:2026-10-01 size:16:9", "status:failed watercolor",
                    "model:flux-pro before:2026-10-15 lantern")


def synthetic_record(n: int, rng: random.Random, start: float) -> dict:
    """One finished task record with a prompt from a small vocabulary (or a Chinese or Japanese one)."""
    prompt = (rng.choice(CJK) if n % 10 == 0 else
              f"a {rng.choice(SUBJECTS)} {rng.choice(MOODS)}, {rng.choice(STYLES)}")
    task_id = f"{n:08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-8{rng.getrandbits(12):03x}-" \
              f"{rng.getrandbits(48):012x}"
    created = start + n * 60 + rng.random()
    failed = n % 17 == 0
    response = ({"success": False, "error": {"code": "forbidden", "message": "moderated"}} if failed else
                {"success": True, "data": [{"image_url": f"https://img.example/{task_id}/{i}.png",
                                            "seed": rng.getrandbits(31)} for i in range(1 + n % 4)]})
    return {"id": task_id, "created_at": created, "finished_at": created + 4,
            "request": {"action": "generate", "prompt": prompt, "model": rng.choice(MODELS),
                        "size": rng.choice(SIZES)}, "response": response}


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": ordered[int(len(ordered) * 0.95)] * 1000}


def run(tasks: int = TASKS, runs: int = RUNS) -> dict:
    """Fill a fresh SQLite workspace with `tasks` tasks, then time searches, Recent and keeping one task."""
    from app import create_app
    from gallery.flux.models import task_from_record
    from gallery.workspace.query import parse_query

    rng = random.Random(20261203)
    start = datetime(2026, 9, 1, tzinfo=UTC).timestamp()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        app = create_app({"ACEDATACLOUD_API_TOKEN": "bench", "EMULATOR": "off", "CACHE_DIR": folder,
                          "DATABASE_URL": f"sqlite:///{Path(folder) / 'gallery.db'}"})
        kept = app.extensions["gallery"].kept
        filled = time.perf_counter()
        for first in range(0, tasks, 2000):
            records = [synthetic_record(n, rng, start) for n in range(first, min(first + 2000, tasks))]
            kept.keep_many([(task_from_record(r["id"], r), r) for r in records], "import")
        fill_seconds = time.perf_counter() - filled
        keeps = []
        for n in range(tasks, tasks + runs):  # one at a time, as views and callbacks keep them
            record = synthetic_record(n, rng, start)
            began = time.perf_counter()
            kept.keep(task_from_record(record["id"], record), record, "viewed")
            keeps.append(time.perf_counter() - began)
        results = {"tasks": kept.count(), "fill_seconds": fill_seconds, "keep": percentiles(keeps)}
        with app.app_context():
            for name, queries in (("word", WORD_QUERIES), ("filtered", FILTERED_QUERIES)):
                times = []
                for n in range(runs):
                    query = parse_query(queries[n % len(queries)])
                    began = time.perf_counter()
                    kept.search(query, limit=48)
                    times.append(time.perf_counter() - began)
                results[name] = percentiles(times)
            recent, cursor = [], None
            for _ in range(runs):
                began = time.perf_counter()
                page = kept.recent(cursor, limit=48)
                recent.append(time.perf_counter() - began)
                cursor = page.next
        results["recent_page"] = percentiles(recent)
        results["target_p95_ms"] = TARGET_P95_MS
        app.extensions["gallery"].close()
    return results


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else TASKS), indent=2))
