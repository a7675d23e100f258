"""Sample data: with no API token, the gallery shows the built-in emulator's tasks, one emulator per machine.

Image URLs end up in kept task records, so the emulator must answer at the same address for as long as those
records live: across restarts, across gunicorn's workers, and between `make run` and `make serve`. So it runs
on one fixed loopback port (GALLERY_EMULATOR_PORT, 5001). Whoever needs it first starts it (gunicorn's master
before it forks, see gunicorn.conf.py; else the app process), and everyone after finds it there and uses it.
Port 0 asks for a private emulator on a free port, which only tests want.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass

import requests

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ABOUT = "/_emulator/about"  # what a running emulator says about itself: its name and token


@dataclass(frozen=True)
class Emulator:
    """A running emulator the gallery can use: where it answers and the token it accepts."""

    url: str
    token: str
    server: object | None = None  # the server thread, when this process runs it

    @property
    def port(self) -> int:
        """The loopback port it answers on."""
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stop the emulator if this process runs it."""
        if self.server is not None:
            self.server.stop()


class EmulatorUnavailable(RuntimeError):
    """The emulator's port is taken by something else, or the emulator would not start."""


def about(url: str, timeout: float = 0.5) -> dict | None:
    """What the emulator at `url` says about itself; None if nothing answers there."""
    try:
        response = requests.get(url + ABOUT, timeout=timeout)
    except requests.RequestException:
        return None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict) or answer.get("service") != "flux-emulator":
        raise EmulatorUnavailable(f"port {url.rsplit(':', 1)[-1]} answers, but not as the Flux emulator: "
                                  "set GALLERY_EMULATOR_PORT to a free port")
    return answer


def connect(port: int, faults: dict | None = None) -> Emulator:
    """The emulator on `port` of 127.0.0.1, started in this process if none answers there yet."""
    from flux_emulator.app import EmulatorServer

    faults = {key: value for key, value in (faults or {}).items() if value is not None}
    if port:
        url = f"http://{HOST}:{port}"
        found = about(url)
        if found is not None:
            if faults:  # a live look at faults on a shared emulator: tell it, as tests do
                requests.post(url + "/_emulator/config", json=faults, timeout=5)
            return Emulator(url, found["token"])
    server = EmulatorServer(config=faults, port=port)
    try:
        server.start()
    except OSError:
        # Another worker bound the port between our look and our start: theirs is the one to use.
        found = _wait_for(f"http://{HOST}:{port}", seconds=5)
        return Emulator(f"http://{HOST}:{port}", found["token"])
    return Emulator(server.url, server.app.config["TOKEN"], server)


def spawn(port: int, faults: dict | None = None) -> subprocess.Popen | None:
    """Start `python -m flux_emulator` on `port` unless one answers there already; the process, if started."""
    url = f"http://{HOST}:{port}"
    if about(url) is not None:
        return None
    command = [sys.executable, "-m", "flux_emulator", "--host", HOST, "--port", str(port), "--quiet"]
    for key, flag in (("FAULT", "--fault"), ("IMAGE_FAULT", "--image-fault")):
        if (faults or {}).get(key):
            command += [flag, ",".join(faults[key]) if isinstance(faults[key], list) else str(faults[key])]
    child = subprocess.Popen(command)
    _wait_for(url, seconds=15, child=child)
    return child


def _wait_for(url: str, seconds: float, child: subprocess.Popen | None = None) -> dict:
    """Wait until the emulator at `url` answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = about(url)
        if found is not None:
            return found
        if child is not None and child.poll() is not None:
            break
        time.sleep(0.05)
    raise EmulatorUnavailable(f"the Flux emulator did not start at {url}")
