"""Scaling out: task records, coalescing locks and rate limits in a real Redis shared by several servers."""

import threading
import time
from contextlib import ExitStack

import pytest
import requests

from flux_emulator import app as sample
from gallery.infra.redis_backends import RedisCoalescer, RedisStore, connect
from support import TOKEN, emulator_stats, free_port, gallery_app, gunicorn


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
    assert RedisCoalescer(dead, wait=1).do("k", lambda: 42) == 42


def test_with_redis_dead_pages_are_served_and_each_process_still_limits(emulator, tmp_path):
    client = gallery_app(emulator.url, tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                         RATE_LIMIT=2).test_client()
    codes = [client.get(f"/api/tasks/{sample.DONE_ID}").status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # counted in this process's memory until Redis is back


def test_rate_limits_are_shared_between_servers_and_kept_per_client(emulator, tmp_path, redis_url, redis_client):
    apps = [shared_app(emulator, tmp_path / n, redis_url, RATE_LIMIT=3).test_client() for n in "ab"]
    codes = [apps[n % 2].get(f"/api/tasks/{sample.DONE_ID}").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    other = apps[1].get(f"/api/tasks/{sample.DONE_ID}", environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # another client has its own allowance
    assert redis_client.keys("fluxgallery:limits:*")  # kept under the gallery's own prefix


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


@pytest.mark.slow
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


def test_records_of_unfinished_tasks_expire_in_redis_and_finished_ones_stay(emulator, tmp_path, redis_url,
                                                                            redis_client):
    client = shared_app(emulator, tmp_path, redis_url).test_client()
    ids = [sample.DONE_ID, sample.FAILED_ID, sample.PENDING_ID, sample.UNKNOWN_ID]
    assert client.get("/api/tasks/" + ",".join(ids)).status_code == 200
    ttl = {task_id: redis_client.ttl(f"fluxgallery:tasks/{task_id}.json") for task_id in ids}
    assert ttl[sample.DONE_ID] == ttl[sample.FAILED_ID] == -1  # kept for good
    assert 55 <= ttl[sample.PENDING_ID] <= 60 and 55 <= ttl[sample.UNKNOWN_ID] <= 60
