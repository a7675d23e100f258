"""Fixtures of the infrastructure tests: a real Redis server for this test session."""

import os
import shutil
import subprocess
import time

import pytest
import redis

from gallery.infra.redis_backends import connect
from support import free_port


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free port of 127.0.0.1, for this test session only."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run installs it from Debian")
        pytest.skip("redis-server is not installed (apt-get install redis-server); CI runs these tests")
    # The port is free when picked, but another test worker may bind it before this server does: then this one
    # exits, and a ping could reach that worker's Redis. Only a server that names our process as its own counts.
    for _ in range(5):
        port = free_port()
        server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        if _serves(url, server):
            break
        server.terminate()
        server.wait(10)
    else:
        pytest.fail("redis-server did not start on any of five free ports")
    yield url
    server.terminate()
    server.wait(10)


def _serves(url: str, server: subprocess.Popen) -> bool:
    """Whether `server` answers at `url` (waiting up to 5 s for it to start), and not some other Redis."""
    with redis.Redis.from_url(url) as client:
        for _ in range(100):
            if server.poll() is not None:
                return False
            try:
                return client.info("server")["process_id"] == server.pid
            except redis.ConnectionError:
                time.sleep(0.05)
    return False


@pytest.fixture
def redis_client(redis_url):
    client = connect(redis_url)
    client.flushdb()
    return client
