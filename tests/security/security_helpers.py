"""Helpers shared by the security tests: apps on the emulator, injected records, fake DNS, scripted upstreams."""


import io
import json
import socket
import threading

from bs4 import BeautifulSoup
from PIL import Image
from werkzeug import Response as WResponse

from flux_emulator import app as sample
from gallery.flux.models import task_from_record
from gallery.images.egress import EgressPolicy
from gallery.images.originals import ImageFetcher
from support import gallery_app

DONE, LAKE, MULTI = sample.DONE_ID, sample.LAKE_ID, sample.MULTI_ID
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}



def make_app(emulator, tmp_path, **overrides):
    return gallery_app(emulator.url, tmp_path / "cache", **overrides)


def inject(app, task_id, record):
    """Put a task record into the app's cache as if the Tasks API had returned it."""
    app.extensions["gallery"].tasks.keep(task_from_record(task_id, record))


def record_with(prompt="a prompt", image_url="https://img.example/x.png", **extra):
    return {"id": DONE, "request": {"prompt": prompt, "size": "1024x1024"}, **extra,
            "response": {"success": True, "data": [{"image_url": image_url, "seed": 1}]}}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def png(size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(out, "PNG")
    return out.getvalue()


class Net:
    """Fake DNS and a record of every connect: what the socket layer was asked to do."""

    def __init__(self, monkeypatch):
        self.names: dict[str, list] = {}
        self.lookups: list[str] = []
        self.connects: list[tuple] = []
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect

        def getaddrinfo(host, port, *args, **kwargs):
            self.lookups.append(host)
            answers = self.names.get(host)
            if answers is None:
                return real_getaddrinfo(host, port, *args, **kwargs)
            if callable(answers):
                answers = answers()
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (ip, port, 0, 0) if ":" in ip else (ip, port)) for ip in answers]

        def connect(sock, address):
            self.connects.append(address)
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)

    def names_looked_up(self) -> list[str]:
        """Lookups of names (the connect step also passes the checked IP literal through getaddrinfo)."""
        import ipaddress

        def literal(host):
            try:
                ipaddress.ip_address(host)
                return True
            except ValueError:
                return False
        return [host for host in self.lookups if not literal(host)]

    def hosts_connected(self) -> set[str]:
        return {address[0] for address in self.connects}



def fetcher_for(httpserver=None, **policy) -> ImageFetcher:
    ports = {80, 443} | ({httpserver.port} if httpserver else set())
    policy.setdefault("ports", frozenset(ports))
    return ImageFetcher(timeout=2.0, max_bytes=1024 * 1024, policy=EgressPolicy(**policy))


def together(count, fn):
    """Run fn() on `count` threads released at once; their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(n):
        barrier.wait()
        results[n] = fn()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def scripted(httpserver, answers):
    """A Tasks API that gives `answers` (status, headers, body) in turn, then the last one forever."""
    answers = list(answers)
    calls = []

    def handler(request):
        calls.append(1)
        status, headers, body = answers[min(len(calls), len(answers)) - 1]
        return WResponse(body, status=status, headers=headers, content_type="application/json")

    httpserver.expect_request("/flux/tasks").respond_with_handler(handler)
    return calls


OK_BODY = json.dumps({"id": DONE, "request": {}})

