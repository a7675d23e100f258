"""Scaling out: task records, coalescing locks and rate limits in a real Redis shared by several servers."""

import os
import shutil
import subprocess
import threading
import time
from contextlib import ExitStack

import pytest
import redis
import requests

from flux_emulator import app as sample
from gallery.infra.redis_backends import RedisCoalescer, RedisRateLimiter, RedisStore, connect
from support import TOKEN, emulator_stats, free_port, gallery_app, gunicorn


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free port of 127.0.0.1, for this test session only."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run installs it from Debian")
        pytest.skip("redis-server is not installed (apt-get install redis-server); CI runs these tests")
    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def redis_client(redis_url):
    client = connect(redis_url)
    client.flushdb()
    return client


def shared_app(emulator, tmp_path, redis_url, **config):
    """A gallery that keeps its task records, locks and rate limits in the test Redis."""
    return gallery_app(emulator.url, tmp_path, REDIS_URL=redis_url, **config)


def test_store_round_trip(redis_client):
    store = RedisStore(redis_client)
    assert store.read("tasks/x.json") is None
    store.write("tasks/x.json", b"{}")
    assert store.read("tasks/x.json") == b"{}"


def test_a_dead_redis_degrades_instead_of_failing():
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")
    store = RedisStore(dead)
    store.write("k", b"v")
    assert store.read("k") is None
    assert RedisRateLimiter(dead, 1, "pages").hit("client") is None
    assert RedisCoalescer(dead, wait=1).do("k", lambda: 42) == 42


def test_rate_limits_are_shared_between_servers(redis_client):
    first, second = (RedisRateLimiter(redis_client, 3, "pages", clock=lambda: 600.0) for _ in range(2))
    assert [first.hit("1.2.3.4"), second.hit("1.2.3.4"), first.hit("1.2.3.4")] == [None, None, None]
    assert second.hit("1.2.3.4") == pytest.approx(60.0)
    assert first.hit("5.6.7.8") is None  # another client has its own allowance


def test_coalescing_across_servers_runs_the_work_once(redis_client):
    store = RedisStore(redis_client)
    runs = []

    def work():
        if store.read("result") is None:  # what TaskService does: the leader's result is found, not redone
            runs.append(1)
            time.sleep(0.3)
            store.write("result", b"done")
        return store.read("result")

    servers = [RedisCoalescer(redis_client, wait=5, poll=0.01) for _ in range(2)]
    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(c.do("k", work))) for c in servers * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"done"] * 8 and len(runs) == 1


def test_two_apps_sharing_redis_ask_upstream_once(emulator, tmp_path, redis_url, redis_client):
    ids = ",".join(sample.SAMPLE_GALLERIES["Sizes and shapes"])
    first = shared_app(emulator, tmp_path / "a", redis_url).test_client()
    second = shared_app(emulator, tmp_path / "b", redis_url).test_client()
    assert first.get(f"/tasks/{ids}").status_code == 200
    assert second.get(f"/tasks/{ids}").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 1


def test_rate_limit_counts_across_apps(emulator, tmp_path, redis_url, redis_client):
    apps = [shared_app(emulator, tmp_path / n, redis_url, RATE_LIMIT=2).test_client() for n in "ab"]
    codes = [apps[n % 2].get(f"/tasks/{sample.DONE_ID}").status_code for n in range(3)]
    assert codes == [200, 200, 429]


@pytest.fixture
def gunicorn_pair(emulator, tmp_path, redis_url, redis_client):
    """Two real gallery processes under gunicorn, each with its own disk cache, sharing one Redis."""
    with ExitStack() as stack:
        yield [stack.enter_context(gunicorn(
            {"ACEDATACLOUD_API_BASE_URL": emulator.url, "ACEDATACLOUD_API_TOKEN": TOKEN,
             "GALLERY_CACHE_DIR": str(tmp_path / name), "GALLERY_REDIS_URL": redis_url,
             "GALLERY_ALLOW_PRIVATE_IMAGE_HOSTS": "true"}, "--workers", "1", "--threads", "4")) for name in "ab"]


def test_two_server_processes_make_one_upstream_call_between_them(gunicorn_pair, emulator):
    ids = ",".join(sample.SAMPLE_GALLERIES["Prompt iterations"])
    results = []
    threads = [threading.Thread(target=lambda url=url: results.append(
        requests.get(f"{url}/tasks/{ids}", timeout=30).status_code)) for url in gunicorn_pair * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6
    assert emulator_stats(emulator)["task_calls"] == 1
