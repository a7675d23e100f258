"""Helpers the tests share: the gallery app on an emulator, emulator faults, gunicorn, Chromium."""

import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageCms

from app import create_app

TOKEN = "test-token-8f3a1c9e2b7d4e6f"

ROOT = Path(__file__).resolve().parent.parent


# Apps the tests made, closed after each test (conftest) so no database connection outlives its test. Weak
# references: a test may also drop an app and see it closed when it is collected.
OPEN_APPS: list[weakref.ref] = []


def gallery_app(api_url: str, cache_dir, **overrides):
    """The gallery pointed at `api_url` with the test token, caching under `cache_dir`; overrides win."""
    return opened(create_app(gallery_config(api_url, cache_dir, **overrides)))


def gallery_config(api_url: str, cache_dir, **overrides) -> dict:
    """The test config of `gallery_app`, for an app that outlives one test (and is closed by its maker)."""
    return {
        "ACEDATACLOUD_API_BASE_URL": api_url,
        "ACEDATACLOUD_API_TOKEN": TOKEN,
        "CACHE_DIR": str(cache_dir),
        # Kept tasks in a database of this test's own, beside its cache.
        "DATABASE_URL": f"sqlite:///{Path(cache_dir) / 'gallery.db'}",
        "EMULATOR": "off",
        "API_DEADLINE": 5.0,
        # Retries follow at once: a test proves that a call is retried, not how long the pause is (the client's
        # own tests check the backoff's arithmetic), and 0.5 s pauses add up over hundreds of tests.
        "API_BACKOFF": 0.01,
        # The emulator serves images from 127.0.0.1, which the safe default refuses.
        "ALLOW_PRIVATE_IMAGE_HOSTS": True,
        **overrides,
    }


def opened(app):
    """Remember an app so that it is closed when the test ends."""
    OPEN_APPS.append(weakref.ref(app))
    return app


def close_apps() -> None:
    """Close every app the test made (a second close of one the test closed itself changes nothing)."""
    while OPEN_APPS:
        if (app := OPEN_APPS.pop()()) is not None:
            app.extensions["gallery"].close()


def make_test_image(size=(64, 48), fmt="PNG", mode="RGB", orientation=None, icc=False, pattern="gradient") -> bytes:
    """Image bytes made in code: a gradient, checkerboard or noise, in any mode, with optional EXIF and ICC."""
    width, height = size
    if pattern == "noise":
        rng = random.Random(7)
        base = Image.frombytes("RGB", size, bytes(rng.randrange(256) for _ in range(width * height * 3)))
    elif pattern == "checker":
        base = Image.new("RGB", size, "white")
        for x in range(0, width, 2):
            for y in range(x % 4 // 2, height, 2):
                base.putpixel((x, y), (0, 0, 0))
    elif mode == "1" and width * height > 1_000_000:
        base = Image.new("1", size, 0)  # huge but compresses to almost nothing: a decompression bomb
    else:
        base = Image.linear_gradient("L").resize(size).convert("RGB")
    image = base if base.mode == mode else _convert(base, mode)
    out = io.BytesIO()
    extra = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    if icc:
        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(out, fmt, **extra)
    return out.getvalue()


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if mode == "I;16":
        return image.convert("L").point(lambda v: v * 256).convert("I").convert("I;16")
    if mode == "P":
        return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return image.convert(mode)


def reset_emulator(emulator) -> None:
    """Back to normal: no faults, no memory of which tasks were asked about, counters at zero."""
    from flux_emulator.app import DEFAULT_CONFIG

    timings = {key: DEFAULT_CONFIG[key] for key in ("SLOW_SECONDS", "HANG_SECONDS", "IMAGE_SLOW_SECONDS",
                                                     "DRIP_SECONDS", "RETRY_AFTER_SECONDS")}
    requests.post(f"{emulator.url}/_emulator/config", json={"FAULT": None, "IMAGE_FAULT": None,
                                                            "PENDING_SECONDS": 1.0, **timings}, timeout=5)
    requests.post(f"{emulator.url}/_emulator/reset", timeout=5)


def set_fault(emulator, fault=None, image_fault=None, **timings) -> None:
    """Make the emulator misbehave (a mode, or a list of modes used up one call each), with optional timings."""
    requests.post(f"{emulator.url}/_emulator/config", json={"FAULT": fault, "IMAGE_FAULT": image_fault, **timings},
                  timeout=5)


def emulator_stats(emulator) -> dict:
    """The emulator's call counters."""
    return requests.get(f"{emulator.url}/_emulator/stats", timeout=5).json()


# ---- browser tests: Debian's Chromium driven by Playwright, the gallery served on 127.0.0.1 ---------

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@contextmanager
def gunicorn(env: dict[str, str], *args: str):
    """The gallery under gunicorn as `make serve` runs it (its gunicorn.conf.py), on a free port; yields its URL."""
    if "GALLERY_DATABASE_URL" not in env:  # a database of its own, beside its cache
        folder = Path(env.get("GALLERY_CACHE_DIR") or tempfile.mkdtemp(prefix="gallery-gunicorn-"))
        env = {**env, "GALLERY_DATABASE_URL": f"sqlite:///{folder / 'gallery.db'}"}
    # gunicorn serves a socket bound here and handed over: a port picked free and bound later by the child could
    # be taken in between (parallel test workers start servers all the time), and a request would then reach
    # someone else's server. Requests wait in its queue until gunicorn accepts them.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        child = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"fd://{listener.fileno()}",
             "--access-logfile", "/dev/null", *args],
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, pass_fds=(listener.fileno(),))
    try:
        for _ in range(60):  # a busy CI machine may take a while to import the app
            if child.poll() is not None:
                pytest.fail(f"gunicorn exited with {child.returncode} before it served {url}")
            try:
                requests.get(f"{url}/healthz", timeout=5)
                break
            except requests.RequestException:  # still importing the app
                time.sleep(0.05)
        else:
            pytest.fail(f"the gallery at {url} did not start")
        yield url
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            # A graceful stop: in-flight requests finish first (gunicorn allows 20 s), slow on a loaded machine.
            child.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # no server outlives its test, whatever failed
            child.wait()
            raise


# The browser tests' servers: one browser loads dozens of pages and hundreds of thumbnails in a few seconds, so no
# rate limits; and more than production's patience with the Tasks API and image hosts (in total and between bytes),
# since a cold gallery's first view draws and shrinks every image while other test workers load both cores, and the
# emulator, starved of CPU, can stall for seconds between bytes (no browser test is about timeouts).
BROWSER_SERVER = {"PENDING_TTL": 0.2, "RATE_LIMIT": 0, "IMAGE_RATE_LIMIT": 0, "API_DEADLINE": 15.0,
                  "IMAGE_TIMEOUT": 30.0, "IMAGE_READ_TIMEOUT": 30.0}


def with_shared_images(cache: Path, images: Path) -> Path:
    """`cache` with its originals and thumbnails folders linked to the shared ones; its task records its own.
    Workers writing one file together are safe: the store writes a temporary file and renames it, as the
    servers of a deployment sharing a disk do (tests/deploy)."""
    for folder in ("originals", "thumbs"):
        (cache / folder).symlink_to(images / folder, target_is_directory=True)
    return cache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str | None:
    """Debian's Chromium (or $CHROMIUM); Playwright's own browser download does not work here."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def need(what: str) -> None:
    """Skip outside CI, fail in CI: a missing browser must never pass CI silently."""
    if in_ci():
        pytest.fail(f"{what} (CI=true, so this is a failure, not a skip)")
    pytest.skip(what)
