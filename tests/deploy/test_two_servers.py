"""Two app servers behind nginx, as docs/deploy.md sets them up: one PostgreSQL, one Redis, one cache folder.

Real parts only: nginx in the foreground on a config rendered from deploy/nginx/, gunicorn as `make serve` runs it,
PostgreSQL and redis-server in temporary folders, all on free ports of 127.0.0.1 and started once for the module.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
import urllib3

from flux_emulator import app as sample
from flux_emulator.app import synthetic_id
from flux_emulator.server import ServerThread
from gallery.infra.disk import USAGE, DiskStore
from servers import fresh_database, postgres_bin, postgres_server
from support import ROOT, TOKEN, emulator_stats, free_port, gallery_app, need

sys.path.insert(0, str(ROOT / "deploy"))
import render  # noqa: E402  (deploy/render.py)

LIMIT = 10  # gallery requests per minute per client, shared by both servers through Redis
KEY = "deploy-team-key"


@dataclass
class Deployment:
    nginx: str
    servers: list[str]
    cache: Path
    env: dict[str, str]
    workdir: Path


@pytest.fixture(scope="module")
def deployment(emulator_server, tmp_path_factory):
    """nginx in front of two gunicorn servers sharing PostgreSQL, Redis and a cache folder."""
    for program, package in (("nginx", "nginx"), ("redis-server", "redis-server")):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            need(f"{program} is not installed (apt-get install {package}); CI runs these tests")
    if postgres_bin() is None:
        need("PostgreSQL is not installed (apt-get install postgresql); CI runs these tests")
    workdir = tmp_path_factory.mktemp("deploy")
    cache = workdir / "cache"
    with ExitStack() as stack:
        database = fresh_database(stack.enter_context(postgres_server()), "two_servers")
        env = {
            "ACEDATACLOUD_API_BASE_URL": emulator_server.url, "ACEDATACLOUD_API_TOKEN": TOKEN,
            "GALLERY_CACHE_DIR": str(cache), "GALLERY_DATABASE_URL": database,
            "GALLERY_REDIS_URL": stack.enter_context(redis_server()), "GALLERY_PROXY_HOPS": "1",
            "GALLERY_ALLOW_PRIVATE_IMAGE_HOSTS": "true", "GALLERY_RATE_LIMIT": str(LIMIT),
            "GALLERY_ACCEL_REDIRECT": "/_cache/",
        }
        servers = stack.enter_context(app_servers(env, 2))
        nginx = stack.enter_context(nginx_in_front(workdir / "nginx", [url for url, _ in servers], cache))
        yield Deployment(nginx, [url for url, _ in servers], cache, env, workdir)


@contextmanager
def redis_server():
    """A real redis-server on a free port, for this module only; yields its URL."""
    port = free_port()
    child = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        yield url
    finally:
        child.terminate()
        child.wait(10)


@contextmanager
def app_servers(env: dict[str, str], count: int):
    """`count` gallery servers under gunicorn as `make serve` runs them, started together; yields (URL, process)."""
    started = []
    for _ in range(count):
        port = free_port()
        child = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4", "--access-logfile", "/dev/null",
             "--error-logfile", str(Path(env["GALLERY_CACHE_DIR"]).parent / f"gunicorn-{port}.log")],  # for failures
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        started.append((f"http://127.0.0.1:{port}", child))
    try:
        for url, _ in started:
            for _ in range(600):  # a busy machine may take a while to import the app
                try:
                    requests.get(f"{url}/healthz", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.05)
            else:
                pytest.fail(f"the gallery at {url} did not start")
        yield started
    finally:
        for _, child in started:
            stop(child, signal.SIGTERM)


def stop(child: subprocess.Popen, how: signal.Signals) -> None:
    """Send `how` to a server's whole process group (master and workers), if it is still there, and reap it."""
    try:
        os.killpg(child.pid, how)
    except ProcessLookupError:
        pass
    child.wait(15)


@contextmanager
def nginx_in_front(folder: Path, upstreams: list[str], cache: Path):
    """nginx on a free port, on deploy/nginx/'s files rendered into `folder`; yields its URL."""
    port = free_port()
    conf = render.render(folder, servers=[url.removeprefix("http://") for url in upstreams], cache_dir=cache,
                         listen=f"127.0.0.1:{port}", prefix=folder, workers="1")
    with render.running(conf, port):
        yield f"http://127.0.0.1:{port}"


def client_from(address: str) -> dict[str, str]:
    """Headers that make a request direct to a server count as coming from `address` (one proxy is trusted)."""
    return {"X-Forwarded-For": address}


def wait_for(check, seconds: float = 15.0) -> bool:
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        if check():
            return True
        time.sleep(0.05)
    return check()


# ---- one gallery, one upstream call, whichever server is asked ------------------------------------------------


def test_a_gallery_viewed_through_one_server_costs_no_upstream_call_through_the_other(deployment, emulator):
    ids = ",".join(synthetic_id(n) for n in range(700_000, 700_004))
    first, second = deployment.servers
    who = client_from("192.0.2.1")
    assert requests.get(f"{first}/tasks/{ids}", headers=who, timeout=30).status_code == 200
    assert requests.get(f"{second}/tasks/{ids}", headers=who, timeout=30).status_code == 200
    assert requests.get(f"{deployment.nginx}/tasks/{ids}", timeout=30).status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 1
    # Kept in the one PostgreSQL database: the other server's Recent lists them.
    recent = requests.get(f"{second}/api/recent", headers=who, timeout=30).json()
    assert set(ids.split(",")) <= {task["id"] for task in recent["tasks"]}
    # The views queued the gallery's thumbnails; done before the next test counts the emulator's calls.
    assert wait_for(lambda: all((deployment.cache / f"thumbs/{task_id}/0/{size}.webp").exists()
                                for task_id in ids.split(",") for size in (384, 768)), seconds=60)


def test_a_thumbnail_made_by_one_server_is_served_by_the_other_from_disk(deployment, emulator):
    task_id = synthetic_id(700_100)
    first, second = deployment.servers
    requests.get(f"{first}/api/tasks/{task_id}", headers=client_from("192.0.2.2"), timeout=30).raise_for_status()
    made = requests.get(f"{first}/thumb/{task_id}/0/384", timeout=30)
    assert made.status_code == 200 and emulator_stats(emulator)["media_calls"] == 1
    kept = requests.get(f"{second}/thumb/{task_id}/0/384", timeout=30)
    assert kept.status_code == 200 and kept.content == made.content
    # The first server made the larger size from the same decode once its answer was sent: kept for both.
    assert wait_for((deployment.cache / f"thumbs/{task_id}/0/768.webp").exists)
    assert requests.get(f"{second}/thumb/{task_id}/0/768", timeout=30).status_code == 200
    assert requests.get(f"{second}/image/{task_id}/0", timeout=30).status_code == 200
    assert emulator_stats(emulator)["media_calls"] == 1


# ---- nginx: public images kept, private ones sent from the cache folder after the app's checks --------------


def test_nginx_keeps_public_images_and_sends_them_without_the_app(deployment, emulator):
    task_id = synthetic_id(700_200)
    url = f"{deployment.nginx}/thumb/{task_id}/0/384"
    first = requests.get(url, timeout=30)
    assert first.status_code == 200 and first.headers["X-Cache-Status"] == "MISS"
    again = requests.get(url, timeout=30)
    assert again.headers["X-Cache-Status"] == "HIT" and again.content == first.content
    assert again.headers["Content-Type"] == "image/webp"
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "sandbox" in again.headers["Content-Security-Policy"]  # the app's headers are kept with the bytes
    assert requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=30).status_code == 304


def test_behind_an_access_key_nginx_sends_kept_images_after_the_app_says_yes(deployment, emulator, tmp_path):
    app = gallery_app(emulator.url, deployment.cache, ACCESS_KEY=KEY, ACCEL_REDIRECT="/_cache/",
                      DATABASE_URL=f"sqlite:///{tmp_path / 'keyed.db'}", PROXY_HOPS=1)
    with ServerThread(app) as server, nginx_in_front(tmp_path / "nginx", [server.url], deployment.cache) as nginx:
        session = requests.Session()
        assert session.post(f"{nginx}/access", data={"key": KEY, "next": "/"}, timeout=30).status_code == 200
        task_id = synthetic_id(700_300)
        session.get(f"{nginx}/api/tasks/{task_id}", timeout=30).raise_for_status()
        cold = session.get(f"{nginx}/thumb/{task_id}/0/384", timeout=30)
        assert cold.status_code == 200 and cold.headers["Cache-Control"].startswith("private")
        warm = session.get(f"{nginx}/thumb/{task_id}/0/384", timeout=30)
        assert warm.status_code == 200 and warm.content == cold.content
        assert "X-Cache-Status" not in warm.headers  # private: never kept by nginx, always asked of the app
        assert warm.headers["Content-Type"] == "image/webp"
        assert warm.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert "sandbox" in warm.headers["Content-Security-Policy"]
        assert "Last-Modified" in warm.headers and "Last-Modified" not in cold.headers  # nginx sent the file
        original = session.get(f"{nginx}/image/{task_id}/0", timeout=30)
        assert original.headers["Content-Type"] == "image/png"
        assert original.headers["Content-Disposition"] == f'inline; filename="flux-{task_id}-0.png"'
        stranger = requests.get(f"{nginx}/thumb/{task_id}/0/384", timeout=30)
        assert stranger.status_code == 401 and stranger.content != cold.content
        assert requests.get(f"{nginx}/_cache/thumbs/{task_id}/0/384.webp", timeout=30).status_code == 404


# ---- a server that stops, limits that hold, a disk account that adds up -------------------------------------


def test_stopping_one_server_loses_no_request_nginx_can_send_to_the_other(deployment, tmp_path):
    with app_servers(deployment.env, 1) as [(doomed, child)]:
        with nginx_in_front(tmp_path / "nginx", [deployment.servers[0], doomed], deployment.cache) as nginx:
            codes: list[int] = []
            stop_at = time.monotonic() + 2.5

            def client() -> None:
                with requests.Session() as session:
                    while time.monotonic() < stop_at:
                        codes.append(session.get(f"{nginx}/healthz", timeout=30).status_code)

            threads = [threading.Thread(target=client) for _ in range(4)]
            for thread in threads:
                thread.start()
            time.sleep(0.8)
            before = len(codes)
            # As a restart or a deploy stops it: no new connections, running requests finish, idle ones close.
            stop(child, signal.SIGTERM)
            for thread in threads:
                thread.join()
    assert before > 20 and len(codes) > before + 20
    assert codes == [200] * len(codes)


def test_rate_limits_hold_across_both_servers(deployment):
    first, second = deployment.servers
    who = client_from("198.51.100.7")
    codes = [requests.get(f"{(first, second)[n % 2]}/api/tasks/{sample.DONE_ID}", headers=who, timeout=30).status_code
             for n in range(LIMIT + 2)]
    assert codes == [200] * LIMIT + [429, 429]
    # Through nginx, from an address of its own: nginx spreads the requests over both servers, one count.
    pool = urllib3.PoolManager(source_address=("127.0.0.7", 0), retries=False)  # no waiting out a 429
    codes = [pool.request("GET", f"{deployment.nginx}/api/tasks/{sample.DONE_ID}", timeout=30).status
             for _ in range(LIMIT + 1)]
    assert codes == [200] * LIMIT + [429]


def test_the_disk_account_adds_up_across_servers(deployment, emulator):
    ids = [synthetic_id(700_400 + n) for n in range(6)]
    first, second = deployment.servers
    requests.get(f"{first}/api/tasks/{','.join(ids)}", headers=client_from("192.0.2.3"), timeout=30)
    paths = [f"{server}/thumb/{task_id}/0/{size}" for task_id in ids for server in (first, second)
             for size in (384, 768)]
    threads = [threading.Thread(target=requests.get, args=(path,), kwargs={"timeout": 30}) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = DiskStore(deployment.cache)

    def adds_up() -> bool:
        return int((deployment.cache / USAGE).read_text()) == store.usage()

    assert wait_for(adds_up)  # once the work after the responses is done too


def test_the_disk_account_holds_when_processes_evict_together(tmp_path):
    # Two processes (as two servers' workers) writing past a small cap at once: the count stays the files' sum.
    script = ("import sys; from gallery.infra.disk import DiskStore\n"
              "store = DiskStore(sys.argv[1], max_bytes=200_000)\n"
              "for n in range(60): store.write(f'thumbs/{sys.argv[2]}/{n}.webp', bytes(10_000))")
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), name], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}) for name in ("a", "b")]
    assert [writer.wait(60) for writer in writers] == [0, 0]
    usage = DiskStore(tmp_path).usage()
    assert int((tmp_path / USAGE).read_text()) == usage <= 200_000
