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
