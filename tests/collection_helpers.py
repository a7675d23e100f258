"""Helpers of the collection tests (workspace and security): a gallery on a real port with kept tasks, browser-like
sessions that carry cookies and the CSRF token, and short ways to make and read collections."""

from collections.abc import Callable

import requests
from bs4 import BeautifulSoup

from flux_emulator.server import ServerThread
from gallery.flux.models import task_from_record
from support import gallery_app

OPEN = {"RATE_LIMIT": 0, "WRITE_RATE_LIMIT": 0, "IMAGE_RATE_LIMIT": 0}


def task_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"


def image(n: int, index: int) -> str:
    return f"{task_id(n)}-{index}"


def record(n: int, prompt: str, seeds=(7,)) -> dict:
    """A finished task record in the API's shape, one image per seed (their addresses are never fetched here)."""
    created = 1_764_000_000 + n
    return {"id": task_id(n), "created_at": created, "finished_at": created + 5,
            "request": {"action": "generate", "prompt": prompt, "model": "flux-dev", "size": "1024x1024"},
            "response": {"success": True, "task_id": task_id(n),
                         "data": [{"image_url": f"https://img.example/{n}/{i}.png", "seed": seed}
                                  for i, seed in enumerate(seeds)]}}


def starter(emulator_url: str, cache_dir, database_url: str, started: list) -> Callable:
    """A function that starts the gallery on a real port over `database_url` (settings given win) with five kept
    tasks of three images each, and returns (its URL, its app); `started` collects them for stopping."""

    def start(**settings):
        app = gallery_app(emulator_url, cache_dir, DATABASE_URL=database_url, **{**OPEN, **settings})
        records = [record(n, f"a paper lantern number {n}", seeds=(n, n + 1, n + 2)) for n in range(1, 6)]
        app.extensions["gallery"].kept.keep_many([(task_from_record(r["id"], r), r) for r in records], "viewed")
        server = ServerThread(app).start()
        started.append((server, app))
        return server.url, app

    return start


def stop(started: list) -> None:
    for server, app in started:
        server.stop()
        app.extensions["gallery"].close()


def browser(base: str, name: str | None = None) -> requests.Session:
    """A session that behaves as a browser does: it opened a page (cookies, CSRF token), and sends the token."""
    session = requests.Session()
    page = session.get(f"{base}/collections", timeout=10)
    token = BeautifulSoup(page.text, "html.parser").select_one('meta[name="csrf-token"]')["content"]
    session.headers["X-CSRFToken"] = token
    if name:
        assert session.put(f"{base}/api/me", json={"name": name}, timeout=10).json() == {"name": name}
    return session


def refs(base: str, slug: str) -> list[str]:
    """Every item of a collection in order, following the JSON pages."""
    found, url = [], f"{base}/api/collections/{slug}"
    while url:
        body = requests.get(url if url.startswith("http") else base + url, timeout=30).json()
        found += [item["ref"] for item in body["items"]]
        url = body["next"]
    return found


def make(base: str, items: list[str], title: str = "Lanterns", session=requests) -> dict:
    response = session.post(f"{base}/api/collections", json={"title": title, "items": items}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def counts(base: str) -> tuple:
    """Everything a refused write could have changed: the collections and every image's picks and comments."""
    collections = requests.get(f"{base}/api/collections", timeout=10).json()["collections"]
    marks = requests.get(f"{base}/api/activity", params={"refs": ",".join(task_id(n) for n in range(1, 6))},
                         timeout=10).json()["images"]
    comments = [requests.get(f"{base}/api/images/{image(n, i)}/comments", timeout=10).json()["comments"]
                for n in range(1, 3) for i in range(3)]
    return [(c["slug"], c["title"], c["image_count"], c["version"]) for c in collections], marks, comments
