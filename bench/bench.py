"""`make bench`: bounded loads on 127.0.0.1 against the emulator and the app under gunicorn.

Every figure is a ratio against a baseline measured in the same run on the same machine, because absolute
times on shared machines are noise. Prints a table and writes the figures as JSON.
"""

import argparse
import io
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests
from bs4 import BeautifulSoup
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import browser  # noqa: E402  (bench/browser.py)
import search  # noqa: E402  (bench/search.py)

from flux_emulator.app import synthetic_id  # noqa: E402

TOKEN = "bench-token"
SIZES = (1, 10, 50, 100)
LARGE = 1  # synthetic kind: 2048×2048 PNGs
HUGE = 3  # synthetic kind: 2048×2048 PNGs of about 6.5 MB each, as large as detailed photos


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, seconds: float = 30) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(args: list[str], env: dict[str, str], health: str):
    """A child process that answers `health`, stopped (with its children) on exit."""
    child = subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(health)
        yield child
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


@contextmanager
def emulator():
    port = free_port()
    args = [sys.executable, "-m", "flux_emulator", "--port", str(port), "--token", TOKEN]
    with process(args, {}, f"http://127.0.0.1:{port}/_emulator/stats"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def gallery(emulator_url: str, cache: Path, workers: int = 2, threads: int = 4):
    """The app under gunicorn, as `make serve` runs it, on a cache folder of its own."""
    port = free_port()
    env = {
        "ACEDATACLOUD_API_BASE_URL": emulator_url,
        "ACEDATACLOUD_API_TOKEN": TOKEN,
        "GALLERY_CACHE_DIR": str(cache),
        "GALLERY_ALLOW_PRIVATE_IMAGE_HOSTS": "true",  # the emulator serves its images from 127.0.0.1
        "GALLERY_RATE_LIMIT": "0",  # a benchmark is one client on purpose
        "GALLERY_IMAGE_RATE_LIMIT": "0",
    }
    args = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"]
    with process(args, env, f"http://127.0.0.1:{port}/healthz") as child:
        yield f"http://127.0.0.1:{port}", child


def stats(emulator_url: str) -> dict:
    return requests.get(f"{emulator_url}/_emulator/stats", timeout=5).json()


def reset(emulator_url: str) -> None:
    requests.post(f"{emulator_url}/_emulator/reset", timeout=5)


def settle(emulator_url: str, quiet: float = 2.0, limit: float = 180.0) -> None:
    """Wait until the gallery's background thumbnail work is done (no image fetched for `quiet` seconds), so
    what is timed next does not share the CPU with it."""
    stop = time.monotonic() + limit
    last = stats(emulator_url)["media_calls"]
    while time.monotonic() < stop:
        time.sleep(quiet)
        now = stats(emulator_url)["media_calls"]
        if now == last:
            return
        last = now


def original(emulator_url: str, task_id: str) -> bytes:
    """The original image of a synthetic task, straight from the emulator."""
    body, auth = {"action": "retrieve", "id": task_id}, {"authorization": f"Bearer {TOKEN}"}
    record = requests.post(f"{emulator_url}/flux/tasks", json=body, headers=auth, timeout=10).json()
    return requests.get(record["response"]["data"][0]["image_url"], timeout=30).content


def ids_for(count: int, start: int, kind: int = 0) -> list[str]:
    return [synthetic_id(start + n, kind) for n in range(count)]


def timed(call, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---- measurements ------------------------------------------------------------------------------------------


def api_calls(app_url: str, emulator_url: str) -> list[dict]:
    """Upstream calls per gallery view, cold then warm (the warm view may land on the other worker)."""
    rows = []
    for count in SIZES:
        ids = ids_for(count, start=10_000 * count)
        link = f"{app_url}/tasks/{','.join(ids)}"
        reset(emulator_url)
        assert requests.get(link, timeout=60).status_code == 200
        cold = stats(emulator_url)["task_calls"]
        for _ in range(4):  # several warm views, so both workers are asked
            requests.get(link, timeout=60).raise_for_status()
        warm = (stats(emulator_url)["task_calls"] - cold) / 4
        rows.append({"tasks": count, "cold_calls": cold, "warm_calls_per_view": warm})
    return rows


def page_times(app_url: str, emulator_url: str, repeat: int) -> list[dict]:
    """Warm gallery page time against rendering the same template from ready view models in-process."""
    from flask import render_template

    from app import create_app
    from gallery.flux.models import Status
    from gallery.web.sharing import share_meta
    from gallery.web.urls import FlaskUrls
    from gallery.web.viewmodels import blank_task, gallery_view

    local = create_app({"ACEDATACLOUD_API_BASE_URL": emulator_url, "ACEDATACLOUD_API_TOKEN": TOKEN,
                        "EMULATOR": "off", "CACHE_DIR": tempfile.mkdtemp(prefix="bench-render-")})
    services = local.extensions["gallery"]
    rows = []
    session = requests.Session()
    for count in SIZES:
        ids = tuple(ids_for(count, start=10_000 * count))
        link = f"{app_url}/tasks/{','.join(ids)}"
        session.get(link, timeout=60).raise_for_status()
        page = timed(lambda link=link: session.get(link, timeout=60).raise_for_status(), repeat)
        with local.test_request_context(f"/tasks/{','.join(ids)}"):
            # Everything the page's template gets, built beforehand: only the rendering is timed.
            view = gallery_view(ids, services.tasks.get_many(ids), FlaskUrls(), services.thumb_sizes)
            context = {"page": view, "blanks": {str(status): blank_task(status) for status in Status},
                       "featured": None, "sample_data": False, "share": share_meta(view)}
            render = timed(lambda context=context: render_template("gallery.html", **context), repeat)
        rows.append({"tasks": count, "page_ms": page * 1000, "render_ms": render * 1000, "ratio": page / render})
    return rows


def round_trip(app_url: str, repeat: int) -> float:
    """Milliseconds for the smallest request the same server answers (`/healthz`): the floor of any page."""
    session = requests.Session()
    session.get(f"{app_url}/healthz", timeout=10).raise_for_status()
    return timed(lambda: session.get(f"{app_url}/healthz", timeout=10).raise_for_status(), repeat * 4) * 1000


def thumbnail_times(app_url: str, emulator_url: str, repeat: int) -> dict:
    """Cold thumbnail requests against plain Pillow decoding and libvips' thumbnail_buffer of the same PNGs."""
    ids = ids_for(repeat, start=900_000)
    # Task records warm through the JSON route, which (unlike the page) prepares no thumbnails ahead.
    requests.get(f"{app_url}/api/tasks/{','.join(ids)}", timeout=60).raise_for_status()
    # Fetched here first, so the emulator has drawn each image once: what is timed is our fetch and pipeline.
    originals = [original(emulator_url, task_id) for task_id in ids]
    fetch = timed(lambda: original(emulator_url, ids[0]), repeat)  # what the gallery's own download costs at best
    cold = []
    for task_id in ids:
        started = time.perf_counter()
        response = requests.get(f"{app_url}/thumb/{task_id}/0/384", timeout=60)
        cold.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    decode = [timed(lambda data=data: Image.open(io.BytesIO(data)).load(), 1) for data in originals]
    result = {"images": len(ids), "source": "1024×1024 PNG", "cold_thumb_ms": statistics.median(cold) * 1000,
              "pillow_decode_ms": statistics.median(decode) * 1000, "fetch_ms": fetch * 1000}
    result["ratio_to_decode"] = result["cold_thumb_ms"] / result["pillow_decode_ms"]
    try:
        import pyvips
    except (ImportError, OSError):
        result["vips_ms"] = None
        return result
    vips = [timed(lambda data=data: pyvips.Image.thumbnail_buffer(data, 384).write_to_buffer(".webp"), 1)
            for data in originals]
    result["vips_ms"] = statistics.median(vips) * 1000
    result["ratio_to_vips"] = result["cold_thumb_ms"] / result["vips_ms"]
    return result


def throughput(url: str, seconds: float, clients: int = 8) -> float:
    """Requests per second that `clients` keep-alive clients get for `url` within `seconds`."""
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def client(n: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            response = session.get(url, timeout=10)
            assert response.status_code == 200
            counts[n] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return sum(counts) / seconds


def warm_thumbnail_rps(app_url: str, seconds: float) -> dict:
    """Warm thumbnail requests per second against the same server sending the same bytes as a static file."""
    task_id = ids_for(1, start=950_000)[0]
    requests.get(f"{app_url}/tasks/{task_id}", timeout=60).raise_for_status()
    thumb = requests.get(f"{app_url}/thumb/{task_id}/0/384", timeout=60)
    static = ROOT / "static" / ".bench"
    static.mkdir(exist_ok=True)
    (static / "thumb.webp").write_bytes(thumb.content)
    try:
        thumb_rps = throughput(f"{app_url}/thumb/{task_id}/0/384", seconds)
        static_rps = throughput(f"{app_url}/static/.bench/thumb.webp", seconds)
    finally:
        shutil.rmtree(static)
    return {"thumb_rps": thumb_rps, "static_rps": static_rps, "ratio": thumb_rps / static_rps}


def grid_bytes(app_url: str, emulator_url: str) -> dict:
    """Bytes a browser downloads to show a 50-image grid (page, CSS, JS, 1× thumbnails, compressed where the
    server compresses) against the originals' total size."""
    ids = ids_for(50, start=960_000)
    page_path = f"/tasks/{','.join(ids)}"
    page = requests.get(app_url + page_path, timeout=60)
    soup = BeautifulSoup(page.text, "html.parser")
    assets = [tag["href"] for tag in soup.select("link[rel=stylesheet]")] + [tag["src"] for tag in
                                                                               soup.select("script[src]")]
    thumbs = [img["src"] for img in soup.select("ul.grid img")]
    downloaded = sum(wire_bytes(app_url + url) for url in [page_path, *assets, *thumbs])
    originals = sum(len(original(emulator_url, task_id)) for task_id in ids)
    return {"images": len(thumbs), "downloaded_bytes": downloaded, "originals_bytes": originals,
            "ratio": downloaded / originals}


def wire_bytes(url: str) -> int:
    """Bytes on the wire for `url`, as a browser that accepts compression receives them."""
    with requests.get(url, timeout=60, stream=True, headers={"Accept-Encoding": "gzip, deflate, br, zstd"}) as response:
        response.raise_for_status()
        return sum(len(chunk) for chunk in response.raw.stream(64 * 1024, decode_content=False))


def worker_memory(master: subprocess.Popen) -> tuple[int, int]:
    """Current and peak RSS, in bytes, of the single worker process of a gunicorn master."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def memory(emulator_url: str, workdir: Path) -> dict:
    """Peak RSS of one worker while thumbnailing 20 large PNGs at once, and while zipping galleries of large
    PNGs: first 10, then 40 in the same worker, so a peak that grows with the gallery would show."""
    result = {}
    with gallery(emulator_url, workdir / "thumbnails", workers=1, threads=8) as (app_url, master):
        baseline = _warm_up(app_url, master)
        detail = _thumbnail_storm(app_url)
        _, peak = worker_memory(master)
        result["thumbnails"] = {"baseline_mb": baseline / 2**20, "peak_mb": peak / 2**20,
                                "growth_mb": (peak - baseline) / 2**20, **detail}
    with gallery(emulator_url, workdir / "zip", workers=1, threads=8) as (app_url, master):
        baseline = _warm_up(app_url, master)
        for count in (10, 40):
            detail = _zip_gallery(app_url, count)
            _, peak = worker_memory(master)
            result[f"zip_{count}"] = {"baseline_mb": baseline / 2**20, "peak_mb": peak / 2**20,
                                      "growth_mb": (peak - baseline) / 2**20, **detail}
    return result


def _warm_up(app_url: str, master: subprocess.Popen) -> int:
    """Serve one small gallery and thumbnail, then the worker's RSS: what it holds before the real work."""
    requests.get(f"{app_url}/tasks/{synthetic_id(1)}", timeout=60).raise_for_status()
    requests.get(f"{app_url}/thumb/{synthetic_id(1)}/0/384", timeout=60).raise_for_status()
    return worker_memory(master)[0]


def _thumbnail_storm(app_url: str) -> dict:
    ids = ids_for(20, start=970_000, kind=LARGE)
    requests.get(f"{app_url}/api/tasks/{','.join(ids)}", timeout=120).raise_for_status()

    def one(task_id: str) -> int:
        for _ in range(30):  # a full thumbnail pool answers 503 with Retry-After: wait as a browser would
            response = requests.get(f"{app_url}/thumb/{task_id}/0/384", timeout=120)
            if response.status_code != 503:
                return response.status_code
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return 503

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(one, ids))
    return {"images": len(ids), "source": "2048×2048 PNG", "ok": codes.count(200)}


def _zip_gallery(app_url: str, count: int) -> dict:
    ids = ids_for(count, start=980_000 + 1000 * count, kind=HUGE)
    requests.get(f"{app_url}/api/tasks/{','.join(ids)}", timeout=120).raise_for_status()
    size = 0
    with requests.get(f"{app_url}/download/{','.join(ids)}", timeout=300, stream=True) as response:
        response.raise_for_status()
        for chunk in response.iter_content(256 * 1024):
            size += len(chunk)
    return {"images": len(ids), "zip_mb": size / 2**20}


# ---- report ------------------------------------------------------------------------------------------------


def table(results: dict) -> str:
    lines = ["| figure | value | baseline | ratio | target |", "|---|---|---|---|---|"]
    for row in results["api_calls"]:
        lines.append(f"| API calls per view, {row['tasks']} tasks | cold {row['cold_calls']}, warm "
                     f"{row['warm_calls_per_view']:g} | — | — | cold 1, warm 0 |")
    for row in results["page"]:
        lines.append(f"| warm gallery page, {row['tasks']} tasks | {row['page_ms']:.1f} ms | "
                     f"{row['render_ms']:.1f} ms template render | {row['ratio']:.2f}× | ≤ 1.5× |")
    lines.append(f"| round trip to the same server (`/healthz`) | {results['round_trip_ms']:.1f} ms | — | — | "
                 f"context: the floor of any page |")
    thumb = results["thumb_cold"]
    lines.append(f"| cold thumbnail ({thumb['source']} → 384 WebP) | {thumb['cold_thumb_ms']:.1f} ms | "
                 f"{thumb['pillow_decode_ms']:.1f} ms Pillow decode | {thumb['ratio_to_decode']:.2f}× | ≤ 1.5× |")
    lines.append(f"| fetching that original from the emulator | {thumb['fetch_ms']:.1f} ms | — | — | "
                 f"context: part of every cold thumbnail |")
    if thumb.get("vips_ms"):
        lines.append(f"| cold thumbnail vs libvips | {thumb['cold_thumb_ms']:.1f} ms | {thumb['vips_ms']:.1f} ms "
                     f"pyvips thumbnail_buffer | {thumb['ratio_to_vips']:.2f}× | report (≤ 1× beats it) |")
    warm = results["thumb_warm"]
    lines.append(f"| warm thumbnails | {warm['thumb_rps']:.0f} req/s | {warm['static_rps']:.0f} req/s static file | "
                 f"{warm['ratio']:.2f}× | ≥ 0.8× |")
    grid = results["grid"]
    lines.append(f"| bytes to show a {grid['images']}-image grid | {grid['downloaded_bytes'] / 2**20:.2f} MiB | "
                 f"{grid['originals_bytes'] / 2**20:.1f} MiB originals | {grid['ratio'] * 100:.2f}% | ≤ 3% |")
    memory = results["memory"]
    row = memory["thumbnails"]
    lines.append(f"| peak worker RSS, thumbnailing {row['images']} {row['source']}s at once | {row['peak_mb']:.0f} MiB "
                 f"| {row['baseline_mb']:.0f} MiB idle | +{row['growth_mb']:.0f} MiB | bounded |")
    for count in (10, 40):
        row = memory[f"zip_{count}"]
        lines.append(f"| peak worker RSS, zipping {count} 6.5 MB PNGs ({row['zip_mb']:.0f} MiB zip) | "
                     f"{row['peak_mb']:.0f} MiB | {row['baseline_mb']:.0f} MiB idle | +{row['growth_mb']:.0f} MiB "
                     f"| flat in gallery size |")
    found = results["search"]
    lines.append(f"| search, a word or phrase ({found['tasks']:,} kept tasks, SQLite) | "
                 f"p50 {found['word']['p50_ms']:.1f} ms, p95 {found['word']['p95_ms']:.1f} ms | — | — | "
                 f"p95 ≤ {found['target_p95_ms']:.0f} ms |")
    lines.append(f"| search, words and filters | p50 {found['filtered']['p50_ms']:.1f} ms, "
                 f"p95 {found['filtered']['p95_ms']:.1f} ms | — | — | p95 ≤ {found['target_p95_ms']:.0f} ms |")
    lines.append(f"| a page of Recent | p50 {found['recent_page']['p50_ms']:.1f} ms | — | — | — |")
    lines.append(f"| keeping one task (insert, full-text index) | p50 {found['keep']['p50_ms']:.2f} ms, "
                 f"p95 {found['keep']['p95_ms']:.2f} ms | — | — | — |")
    if results.get("browser"):
        lines += browser.table(results["browser"])
    return "\n".join(lines)


def verdicts(results: dict) -> list[tuple[str, bool]]:
    """Each target of docs/performance.md, met or not in this run."""
    checks = [(f"one upstream call for a cold view of {row['tasks']} tasks", row["cold_calls"] == 1)
              for row in results["api_calls"]]
    checks.append(("no upstream call for a warm view of finished tasks",
                   all(row["warm_calls_per_view"] == 0 for row in results["api_calls"])))
    checks += [(f"warm page of {row['tasks']} tasks within 1.5× of rendering it", row["ratio"] <= 1.5)
               for row in results["page"]]
    checks.append(("cold thumbnail within 1.5× of decoding its source",
                   results["thumb_cold"]["ratio_to_decode"] <= 1.5))
    checks.append(("warm thumbnails at least 0.8× a static file", results["thumb_warm"]["ratio"] >= 0.8))
    checks.append(("a 50-image grid costs at most 3% of its originals", results["grid"]["ratio"] <= 0.03))
    memory = results["memory"]
    # Flat: a gallery four times as large raises the peak by less than two of its images.
    checks.append(("zip memory flat in gallery size", memory["zip_40"]["peak_mb"] - memory["zip_10"]["peak_mb"] < 13))
    found = results["search"]
    checks.append((f"search over {found['tasks']:,} kept tasks: p95 within {found['target_p95_ms']:.0f} ms",
                   max(found["word"]["p95_ms"], found["filtered"]["p95_ms"]) <= found["target_p95_ms"]))
    if results.get("browser"):
        checks += browser.verdicts(results["browser"])
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    options = parser.parse_args()
    repeat, seconds = (5, 2.0) if options.quick else (25, 8.0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flux-bench-") as workdir, emulator() as emulator_url:
        with gallery(emulator_url, Path(workdir) / "main") as (app_url, _):
            results = {"api_calls": api_calls(app_url, emulator_url)}
            # The views above queued every thumbnail of their galleries; let that finish before timing.
            settle(emulator_url)
            results |= {
                "round_trip_ms": round_trip(app_url, repeat),
                "page": page_times(app_url, emulator_url, repeat),
                "thumb_cold": thumbnail_times(app_url, emulator_url, repeat),
                "thumb_warm": warm_thumbnail_rps(app_url, seconds),
                "grid": grid_bytes(app_url, emulator_url),
            }
        results["memory"] = memory(emulator_url, Path(workdir))
    results["search"] = search.run(search.TASKS // 10 if options.quick else search.TASKS)
    # In Chromium (Debian's): first screenful, DOM size and long tasks; left out where there is no Chromium.
    results["browser"] = browser.run(options.quick) if Path(browser.CHROMIUM).exists() else None
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "seconds": round(time.monotonic() - started, 1)}
    results["targets"] = [{"target": name, "met": met} for name, met in verdicts(results)]
    Path(options.out).write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print()
    for target in results["targets"]:
        print(f"{'met    ' if target['met'] else 'NOT MET'}  {target['target']}")
    print(f"\n{results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
          f"{results['machine']['seconds']} s; figures written to {options.out}")


if __name__ == "__main__":
    main()
