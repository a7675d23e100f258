"""Thumbnails against their limits: Pillow's decode, libvips, and nginx sending the same file as a static file.

Sources are the emulator's photographic synthetic images (kinds 4 and 5: flux_emulator.artwork.photograph), a
1024×1024 PNG of about 2 MB and a JPEG at quality 90 of about 350 KB. Every limit is measured in the same run,
interleaved with what it limits, so a neighbour's load falls on both.
"""

import io
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests
from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

import render  # noqa: E402  (deploy/render.py)

from flux_emulator.app import synthetic_id  # noqa: E402
from gallery.images.pipeline import decode, make_thumbnails, shrink  # noqa: E402

MAX_PIXELS = 32_000_000
SIZE = 384
SOURCES = {"PNG": 4, "JPEG": 5}  # synthetic kinds with a photograph's detail
QUALITY, EFFORT = 82, 2  # our WebP settings (gallery/images/pipeline.py), given to libvips too


def vips():
    """pyvips with its operation cache off (a repeat would be free) and one thread per image, as ours; or None."""
    try:
        import pyvips
    except (ImportError, OSError):
        return None
    pyvips.cache_set_max(0)
    # Per image, one core: the limit of "2 cores ÷ time per image" and the cost our one-thread pipeline matches.
    pyvips.vips_lib.vips_concurrency_set(1)
    return pyvips


def vips_thumbnail(pyvips, data: bytes) -> bytes:
    """libvips' thumbnail of `data` as a metadata-free WebP at our settings (what imgproxy does per image)."""
    return pyvips.Image.thumbnail_buffer(data, SIZE).write_to_buffer(".webp", Q=QUALITY, effort=EFFORT, keep=0)


def ours(data: bytes) -> bytes:
    return dict(make_thumbnails(data, (SIZE,), MAX_PIXELS))[SIZE]


def pillow_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def previous(data: bytes) -> Image.Image:
    """The pipeline before this one, for quality: JPEG drafted to twice the size, bicubic all the way."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (SIZE * 2, SIZE * 2))
    image = image.convert("RGB")
    image.thumbnail((SIZE, SIZE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image


def psnr(first: Image.Image, second: Image.Image) -> float:
    rms = ImageStat.Stat(ImageChops.difference(first.convert("RGB"), second.convert("RGB"))).rms
    mse = sum(value * value for value in rms) / len(rms)
    return 10 * math.log10(255**2 / mse) if mse else math.inf


def webp(image: Image.Image) -> Image.Image:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=QUALITY, method=EFFORT)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def quality(originals: list[bytes], pyvips) -> dict:
    """PSNR against Lanczos all the way from a whole decode: of the resize alone, and of the WebP people see."""
    rows = {"resize_ours": [], "resize_previous": [], "webp_ours": [], "webp_previous": [], "webp_vips": []}
    for data in originals[:4]:
        reference = Image.open(io.BytesIO(data)).convert("RGB").resize((SIZE, SIZE), Image.Resampling.LANCZOS)
        mine = shrink(decode(data, SIZE, MAX_PIXELS), (SIZE, SIZE))
        before = previous(data)
        rows["resize_ours"].append(psnr(mine, reference))
        rows["resize_previous"].append(psnr(before, reference))
        rows["webp_ours"].append(psnr(Image.open(io.BytesIO(ours(data))), reference))
        rows["webp_previous"].append(psnr(webp(before), reference))
        if pyvips:
            rows["webp_vips"].append(psnr(Image.open(io.BytesIO(vips_thumbnail(pyvips, data))), reference))
    return {name: round(statistics.mean(values), 2) for name, values in rows.items() if values}


def fetch_original(emulator_url: str, token: str, task_id: str) -> bytes:
    body, auth = {"action": "retrieve", "id": task_id}, {"authorization": f"Bearer {token}"}
    record = requests.post(f"{emulator_url}/flux/tasks", json=body, headers=auth, timeout=10).json()
    return requests.get(record["response"]["data"][0]["image_url"], timeout=60).content


def cold(app_url: str, emulator_url: str, token: str, fmt: str, count: int, start: int, cache: Path) -> dict:
    """Cold thumbnails over HTTP and in-process, against Pillow's decode and libvips, one image after another."""
    pyvips = vips()
    ids = [synthetic_id(start + n, SOURCES[fmt]) for n in range(count)]
    requests.get(f"{app_url}/api/tasks/{','.join(ids)}", timeout=120).raise_for_status()  # records, no thumbnails
    originals = [fetch_original(emulator_url, token, task_id) for task_id in ids]  # drawn once by the emulator
    series: dict[str, list[float]] = {"http": [], "pipeline": [], "decode": [], "vips": []}
    for task_id, data in zip(ids, originals, strict=True):
        started = time.perf_counter()
        response = requests.get(f"{app_url}/thumb/{task_id}/0/{SIZE}", timeout=60)
        series["http"].append(time.perf_counter() - started)
        assert response.status_code == 200, (response.status_code, response.headers.get("X-Image-Error"))
        # The server makes the larger size once the answer is sent: let it finish before timing on the same cores.
        larger = cache / f"thumbs/{task_id}/0/768.webp"
        stop = time.monotonic() + 2
        while not larger.exists() and time.monotonic() < stop:
            time.sleep(0.005)
        for name, work in (("pipeline", ours), ("decode", pillow_decode),
                           ("vips", (lambda data: vips_thumbnail(pyvips, data)) if pyvips else None)):
            if work is None:
                continue
            started = time.perf_counter()
            work(data)
            series[name].append(time.perf_counter() - started)
    fetches = []  # what the server's own download of each original costs at best, for what HTTP adds
    for task_id in ids:
        started = time.perf_counter()
        fetch_original(emulator_url, token, task_id)
        fetches.append(time.perf_counter() - started)
    series["fetch"] = fetches
    # The best of each series: a neighbour's burst of work only ever adds time, and the series are interleaved,
    # so each best comes from the quietest moments of the same stretch. The medians are kept beside them.
    ms = {name: min(values) * 1000 for name, values in series.items() if values}
    medians = {f"{name}_median_ms": statistics.median(values) * 1000 for name, values in series.items() if values}
    result = {"source": f"1024×1024 {fmt}", "bytes": round(statistics.mean(len(data) for data in originals)),
              "images": count, **{f"{name}_ms": value for name, value in ms.items()}, **medians,
              "ratio_pipeline_to_decode": ms["pipeline"] / ms["decode"],
              "ratio_http_to_decode": ms["http"] / ms["decode"],
              "quality_db": quality(originals, pyvips)}
    if "vips" in ms:
        result["ratio_pipeline_to_vips"] = ms["pipeline"] / ms["vips"]
        result["ratio_http_to_vips"] = ms["http"] / ms["vips"]
    return result


def concurrent(app_url: str, emulator_url: str, token: str, vips_ms: float, start: int, cache: Path,
               workers: list[int], clients: int = 20, per_client: int = 3, rounds: int = 3) -> dict:
    """Cold PNG thumbnails from `clients` clients at once: images per second against 2 cores ÷ libvips' time."""
    pyvips = vips()
    cores = os.cpu_count() or 1
    runs = []
    for round_ in range(rounds):
        ids = [synthetic_id(start + 1000 * round_ + n, SOURCES["PNG"]) for n in range(clients * per_client)]
        requests.get(f"{app_url}/api/tasks/{','.join(ids)}", timeout=120).raise_for_status()
        originals = [fetch_original(emulator_url, token, ids[n]) for n in range(8)]  # the emulator's eight pictures
        run = _storm(app_url, ids, clients, workers)
        run["larger_made"] = sum((cache / f"thumbs/{task_id}/0/768.webp").exists() for task_id in ids)
        if pyvips:
            # libvips on every core at once, on the same machine a moment later: what it gets of the cores now.
            work = originals * (len(ids) // len(originals))
            started = time.perf_counter()
            with ThreadPoolExecutor(cores) as pool:
                list(pool.map(lambda data: vips_thumbnail(pyvips, data), work))
            run["vips_now_per_second"] = len(work) / (time.perf_counter() - started)
        runs.append(run)
    # The best round of each: a neighbour's burst of work can only slow a round down, never speed it up.
    best = max(runs, key=lambda run: run["per_second"])
    limit = cores / (vips_ms / 1000)
    result = {"clients": clients, "images": clients * per_client, "rounds": runs, **best,
              "limit_per_second": limit, "cores": cores, "ratio": best["per_second"] / limit}
    if pyvips:
        result["vips_now_per_second"] = max(run["vips_now_per_second"] for run in runs)
        result["ratio_to_vips_now"] = result["per_second"] / result["vips_now_per_second"]
    return result


def _storm(app_url: str, ids: list[str], clients: int, workers: list[int]) -> dict:
    def client(mine: list[str]) -> int:
        done = 0
        with requests.Session() as session:
            for task_id in mine:
                for _ in range(60):  # a full decode queue answers 503 with Retry-After: wait as a browser would
                    response = session.get(f"{app_url}/thumb/{task_id}/0/{SIZE}", timeout=120)
                    if response.status_code != 503:
                        break
                    time.sleep(float(response.headers.get("Retry-After", "1")) / 10)
                done += response.status_code == 200
        return done

    machine, app = busy_seconds(), sum(cpu_seconds(pid) for pid in workers)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        made = sum(pool.map(client, [ids[n::clients] for n in range(clients)]))
    seconds = time.perf_counter() - started
    machine, app = busy_seconds() - machine, sum(cpu_seconds(pid) for pid in workers) - app
    # Where the cores went: the app's workers per image, and how busy the machine was (neighbours included).
    return {"ok": made, "per_second": made / seconds, "app_cpu_ms_per_image": app / max(made, 1) * 1000,
            "busy_cores": machine / seconds}


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process has used (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every core, every process), from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


# ---- nginx ---------------------------------------------------------------------------------------------------

# nginx and the load generator each on a core of their own, where there are two cores and a way to pin a process.
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


@contextmanager
def nginx(folder: Path, app_url: str, cache_dir: Path, static_root: Path):
    """nginx on deploy/nginx/'s site in front of the app, plus a plain static server of `static_root`."""
    port, static_port = free_port(), free_port()
    # One worker on the first core and the load generator on the second (see load()): two workers and wrk's two
    # threads on two cores traded places at random, and the same run of the same config moved by ±10% from round
    # to round; pinned, by ±1%.
    conf = render.render(folder, servers=[app_url.removeprefix("http://")], cache_dir=cache_dir,
                         listen=f"127.0.0.1:{port}", prefix=folder, workers="1" if PINNED else "auto")
    # The limit: the same nginx sending a file from a folder, nothing else in the way, with the site's own open-file
    # cache (so the figure compares what the site does, not that setting).
    files = " ".join(re.findall(r"^\s*(open_file_cache\w*\s[^;]*;)", (conf / render.SITE).read_text(), re.M))
    (conf / "static.conf").write_text(f"server {{ listen 127.0.0.1:{static_port}; root {static_root}; {files} }}\n")
    main = conf / render.STANDALONE
    text = main.read_text().replace(f"include {conf}/flux-gallery.conf;",
                                    f"include {conf}/flux-gallery.conf;\n    include {conf}/static.conf;")
    main.write_text(text.replace("worker_processes 1;", "worker_processes 1;\nworker_cpu_affinity 01;") if PINNED
                    else text)
    with render.running(conf, port):
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{static_port}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(url: str, seconds: float, connections: int = 8, headers: dict[str, str] | None = None) -> dict:
    """Requests per second for `url` from a bounded load generator: wrk when installed, else Python threads."""
    wrk = shutil.which("wrk")
    if wrk:
        pin = ["taskset", "-c", "1"] if PINNED else []  # the core nginx's one worker leaves free (see nginx())
        args = [*pin, wrk, "-t1" if PINNED else "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        for name, value in (headers or {}).items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
        if re.search(r"Non-2xx or 3xx responses", out):
            raise RuntimeError(f"{url} answered errors under load:\n{out}")
        return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]), "tool": "wrk"}
    stop = time.monotonic() + seconds
    counts = [0] * connections

    def client(n: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                assert session.get(url, timeout=10, headers=headers).status_code == 200
                counts[n] += 1

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(client, range(connections)))
    return {"rps": sum(counts) / seconds, "tool": "python"}


def warm_through_nginx(app_url: str, cache_dir: Path, workdir: Path, seconds: float, start: int) -> dict:
    """Warm thumbnails through deploy/'s nginx (kept by its proxy_cache) against it sending the same file."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return {"skipped": "nginx is not installed"}
    task_id = synthetic_id(start, SOURCES["PNG"])
    static_root = Path(tempfile.mkdtemp(prefix="bench-static-", dir=workdir))
    with nginx(workdir / "nginx", app_url, cache_dir, static_root) as (site, static):
        path = f"/thumb/{task_id}/0/{SIZE}"
        for _ in range(50):  # made, then kept by nginx (a busy app may answer 503 at first)
            response = requests.get(site + path, timeout=60)
            if response.headers.get("X-Cache-Status") == "HIT":
                break
            time.sleep(0.2)
        assert response.headers.get("X-Cache-Status") == "HIT", (response.status_code, response.headers)
        (static_root / "thumb.webp").write_bytes(response.content)
        rounds: dict[str, list[float]] = {"site": [], "static": []}
        for _ in range(3):  # interleaved, so a neighbour's burst can fall on either
            rounds["static"].append(load(f"{static}/thumb.webp", seconds / 3)["rps"])
            rounds["site"].append(load(site + path, seconds / 3)["rps"])
        tool = load(f"{static}/thumb.webp", 1)["tool"]
    # The best round of each: a neighbour's burst of work can only slow a round down, never speed it up.
    site_rps, static_rps = max(rounds["site"]), max(rounds["static"])
    return {"thumb_rps": site_rps, "static_rps": static_rps, "ratio": site_rps / static_rps, "tool": tool,
            "rounds": rounds, "pinned": PINNED}


def accel_through_nginx(gallery, emulator_url: str, workdir: Path, seconds: float, start: int) -> dict:
    """With an access key: every request asks the app, which hands nginx the file (X-Accel-Redirect)."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return {"skipped": "nginx is not installed"}
    cache = workdir / "keyed"
    env = {"GALLERY_ACCESS_KEY": "bench-key", "GALLERY_ACCEL_REDIRECT": "/_cache/", "GALLERY_PROXY_HOPS": "1"}
    task_id = synthetic_id(start, SOURCES["PNG"])
    static_root = Path(tempfile.mkdtemp(prefix="bench-static-", dir=workdir))
    with gallery(emulator_url, cache, extra=env) as (app_url, _), \
            nginx(workdir / "nginx-keyed", app_url, cache, static_root) as (site, static):
        session = requests.Session()
        session.post(f"{site}/access", data={"key": "bench-key", "next": "/"}, timeout=30).raise_for_status()
        path = f"/thumb/{task_id}/0/{SIZE}"
        first = session.get(site + path, timeout=60)
        assert "Last-Modified" in session.get(site + path, timeout=60).headers  # sent by nginx from the folder
        (static_root / "thumb.webp").write_bytes(first.content)
        cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
        static_rps = load(f"{static}/thumb.webp", seconds / 2)["rps"]
        accel_rps = load(site + path, seconds / 2, headers={"Cookie": cookie})["rps"]
    return {"thumb_rps": accel_rps, "static_rps": static_rps, "ratio": accel_rps / static_rps, "pinned": PINNED}
