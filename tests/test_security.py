"""The attack and fault cases of shared/notes/security.md §4, one or more tests each, over real loopback HTTP.

Each test name starts with `test_case_NN_` (NN is the case number in §4), so coverage is checkable with
`pytest tests/test_security.py --collect-only -q | grep -o 'case_[0-9]*' | sort -u`. All 56 have a test;
case 3 runs both through Flask's test client and through gunicorn as `make serve` runs it.

The whole suite runs under pytest-socket allowing only 127.0.0.1 and ::1 (pyproject addopts). SSRF cases fake
DNS by replacing socket.getaddrinfo and record every connect, so a filter bug shows as a connect to a
forbidden address (which pytest-socket refuses) rather than as packets on the network.
"""

import io
import json
import logging
import random
import socket
import struct
import threading
import time
import zlib

import pytest
import requests
from bs4 import BeautifulSoup
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

from app import create_app
from conftest import TOKEN, emulator_stats, gallery_app, gunicorn, set_fault
from gallery import emulator as sample
from gallery import images, thumbnailer
from gallery.api import ApiError, FluxClient
from gallery.breaker import CircuitBreaker
from gallery.budget import RetryBudget
from gallery.egress import BlockedUrl, EgressPolicy, host_allowed, is_public
from gallery.images import ImageFetcher, ImageFetchError, media_type_header
from gallery.models import task_from_record
from gallery.settings import DEFAULTS
from gallery.slots import Busy, Slots
from gallery.store import DiskStore
from gallery.thumbnails import ThumbnailError, make_thumbnail

DONE, LAKE, MULTI = sample.DONE_ID, sample.LAKE_ID, sample.MULTI_ID
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


# ---- helpers ---------------------------------------------------------------------------------------


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


@pytest.fixture
def net(monkeypatch):
    return Net(monkeypatch)


def fetcher_for(httpserver=None, **policy) -> ImageFetcher:
    ports = {80, 443} | ({httpserver.port} if httpserver else set())
    policy.setdefault("ports", frozenset(ports))
    return ImageFetcher(timeout=2.0, max_bytes=1024 * 1024, policy=EgressPolicy(**policy))


# ---- defaults --------------------------------------------------------------------------------------


def test_every_security_default_is_the_safe_one():
    assert DEFAULTS["ALLOW_PRIVATE_IMAGE_HOSTS"] is False
    assert DEFAULTS["IMAGE_HOSTS"] == ""  # any *public* host; the address check always applies
    assert DEFAULTS["IMAGE_TIMEOUT"] <= 10 and DEFAULTS["API_DEADLINE"] <= 15
    assert DEFAULTS["MAX_IMAGE_BYTES"] <= 16 * 1024 * 1024 and DEFAULTS["MAX_IMAGE_PIXELS"] <= 32_000_000
    assert DEFAULTS["API_ATTEMPTS"] <= 3
    assert 0 < DEFAULTS["RATE_LIMIT"] <= 60 and 0 < DEFAULTS["IMAGE_RATE_LIMIT"] <= 600
    assert DEFAULTS["PROXY_HOPS"] == 0  # X-Forwarded-For is not trusted unless asked
    assert DEFAULTS["IMAGE_ERROR_TTL"] >= 60
    assert 0 < DEFAULTS["CACHE_MAX_BYTES"] <= 1024 ** 3
    assert DEFAULTS["THUMB_QUEUE"] > 0
    policy = EgressPolicy()
    assert not policy.allow_private and not policy.allow_loopback and not policy.trusted
    assert policy.ports == {80, 443}


# ---- inbound and rendering (1-9) -------------------------------------------------------------------


@pytest.mark.parametrize("ids", ["../x", "x%2Fy", "a%3Fb", "a" * 37, "NOT-A-UUID-AT-ALL", f"{DONE}0"])
def test_case_01_bad_ids_are_400_with_no_upstream_call(client, emulator, ids):
    assert client.get(f"/tasks/{ids}").status_code == 400
    assert client.get(f"/api/tasks/{ids}").status_code == 400
    assert emulator_stats(emulator)["task_calls"] == 0


def test_case_02_too_many_ids_is_400_and_repeats_are_one_batch(emulator, tmp_path):
    app = make_app(emulator, tmp_path, MAX_IDS=50)
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(51)]
    client = app.test_client()
    assert client.get("/tasks/" + ",".join(ids)).status_code == 400
    assert emulator_stats(emulator)["task_calls"] == 0
    response = client.get(f"/tasks/{DONE},{DONE},,{LAKE},")
    assert response.status_code == 301 and response.headers["Location"] == f"/tasks/{DONE},{LAKE}"
    client.get(response.headers["Location"])
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_03_a_very_long_url_is_a_4xx_not_a_500(client):
    assert 400 <= client.get("/tasks/" + "a" * 5000).status_code < 500
    many = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(200)]
    assert 400 <= client.get("/tasks/" + ",".join(many)).status_code < 500


def test_case_03_under_gunicorn_too(emulator, tmp_path):
    many = ",".join(f"{n:08x}-0000-4000-8000-000000000000" for n in range(150))  # 5.5 kB: past 4094, to the app
    huge = ",".join(f"{n:08x}-0000-4000-8000-000000000000" for n in range(300))  # 11 kB: past gunicorn's line limit
    with gunicorn({"ACEDATACLOUD_API_BASE_URL": emulator.url, "ACEDATACLOUD_API_TOKEN": TOKEN,
                   "GALLERY_CACHE_DIR": str(tmp_path)}, "--workers", "1") as url:
        too_many = requests.get(f"{url}/tasks/{many}", timeout=10)
        assert too_many.status_code == 400 and "at most 100" in too_many.text.replace("\n", " ")
        assert requests.get(f"{url}/tasks/{huge}", timeout=10).status_code == 414
        assert requests.get(f"{url}/tasks/{'a' * 20000}", timeout=10).status_code == 414
    assert emulator_stats(emulator)["task_calls"] == 0


def test_case_04_script_in_a_prompt_is_escaped_under_a_csp(app, client):
    inject(app, DONE, record_with(prompt="<script>alert(1)</script>"))
    response = client.get(f"/tasks/{DONE}")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_case_05_quotes_in_a_prompt_cannot_break_an_attribute(app, client):
    prompt = '" onerror=alert(1) x="'
    inject(app, DONE, record_with(prompt=prompt))
    img = soup(client.get(f"/tasks/{DONE}")).select_one("li.card--image img")
    assert img["alt"] == prompt
    assert "onerror" not in img.attrs and "x" not in img.attrs


def test_case_06_no_inline_script_exists_for_a_prompt_to_close(app, client):
    inject(app, DONE, record_with(prompt="</script><script>alert(1)</script>"))
    page = client.get(f"/tasks/{DONE}")
    for script in soup(page).find_all("script"):
        assert script.get("src") and not script.string  # every script is a file; CSP forbids inline ones
    assert "</script><script>alert" not in page.get_data(as_text=True)
    body = client.get(f"/api/tasks/{DONE}")
    assert body.mimetype == "application/json" and body.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "ftp://x.example/a.png",
                                 "https://user:pw@x.example/a.png", 42])
def test_case_07_unsafe_image_urls_are_never_emitted_and_show_a_placeholder_card(app, client, emulator, url):
    inject(app, DONE, record_with(image_url=url))
    page = client.get(f"/tasks/{DONE}")
    html = page.get_data(as_text=True)
    assert str(url) not in html
    card = soup(page).select_one("li.card--image")
    assert "Image could not be loaded: the task gives no usable image address" in " ".join(card.text.split())
    assert card.select_one("img") is None
    assert client.get(f"/api/tasks/{DONE}").get_json()["tasks"][0]["images"][0]["source_url"] is None
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 502
    assert emulator_stats(emulator)["media_calls"] == 0


def test_case_08_upstream_error_messages_are_escaped(app, client):
    inject(app, sample.FAILED_ID, {"id": sample.FAILED_ID, "request": {"prompt": "p"}, "response": {
        "success": False, "error": {"code": "bad<b>", "message": "<img src=x onerror=alert(1)>"}}})
    html = client.get(f"/tasks/{sample.FAILED_ID}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "bad<b>" not in html


def test_case_09_account_fields_never_reach_a_page_or_json(client):
    record = sample.task_record(sample.SAMPLES[DONE], "http://x/")
    for path in (f"/tasks/{DONE}", f"/api/tasks/{DONE}"):
        text = client.get(path).get_data(as_text=True)
        for key in ("user_id", "credential_id", "application_id", "api_id"):
            assert record[key] not in text


# ---- secrets (10-13) -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["401", "500", "slow", "malformed", "429", "html", None])
def test_case_10_the_token_is_in_no_body_header_or_debug_log(emulator, tmp_path, caplog, fault):
    caplog.set_level(logging.DEBUG)
    app = make_app(emulator, tmp_path, API_TIMEOUT=0.3, API_ATTEMPTS=2, API_DEADLINE=0.6)
    set_fault(emulator, fault, SLOW_SECONDS=1.0)
    client = app.test_client()
    responses = [client.get(path) for path in (f"/tasks/{DONE},{LAKE}", f"/api/tasks/{MULTI}",
                                               f"/thumb/{DONE}/0/384", f"/image/{DONE}/0", "/nowhere")]
    for response in responses:
        assert TOKEN.encode() not in response.data
        assert TOKEN not in str(response.headers)
    assert caplog.records and TOKEN not in caplog.text
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_case_11_image_hosts_never_see_authorization_or_cookies(httpserver):
    seen = []

    def handler(request):
        seen.append(dict(request.headers))
        return WResponse(png(), content_type="image/png", headers={"Set-Cookie": "track=1; Path=/"})

    httpserver.expect_request("/a.png").respond_with_handler(handler)
    fetcher = fetcher_for(httpserver, allow_loopback=True)
    fetcher.fetch(httpserver.url_for("/a.png"))
    fetcher.fetch(httpserver.url_for("/a.png"))  # a cookie set by the first answer is not sent back
    assert len(seen) == 2
    for headers in seen:
        names = {name.lower() for name in headers}
        assert "authorization" not in names and "cookie" not in names
        assert headers.get("Accept-Encoding") == "identity"


def test_case_12_a_redirect_from_the_tasks_api_is_not_followed(httpserver):
    with HTTPServer(host="127.0.0.1") as other:
        other.expect_request("/flux/tasks").respond_with_json({"id": DONE})
        httpserver.expect_request("/flux/tasks").respond_with_data(
            "", status=302, headers={"Location": other.url_for("/flux/tasks")})
        client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None)
        with pytest.raises(ApiError):
            client.fetch([DONE])
        assert len(other.log) == 0


def test_case_13_production_config_has_debug_off_and_a_generic_500(monkeypatch, tmp_path, emulator):
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app()
    assert app.debug is False and not app.testing

    def boom():
        raise RuntimeError("internal detail /srv/secret.py")

    app.add_url_rule("/boom", view_func=boom)
    response = app.test_client().get("/boom")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in text and "internal detail" not in text
    assert "request " in text and response.headers["Content-Security-Policy"]


# ---- SSRF (14-23) ----------------------------------------------------------------------------------


def test_case_14_a_host_off_the_allow_list_is_not_fetched(net):
    fetcher = fetcher_for(hosts=("ok.test", "*.cdn.test"))
    with pytest.raises(ImageFetchError, match="not on this server's list"):
        fetcher.fetch("https://evil.test/x.png")
    assert net.lookups == [] and net.connects == []


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "100.64.0.1", "0.0.0.0", "::1",
                                     "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "192.168.1.1",
                                     "172.16.0.1", "fe80::1", "fc00::1", "224.0.0.1", "::", "::ffff:6440:1"])
def test_case_15_an_allowed_name_that_resolves_to_a_private_address_is_blocked(net, address):
    net.names["ok.test"] = [address]
    fetcher = fetcher_for(hosts=("ok.test",))
    with pytest.raises(ImageFetchError, match="not a public internet address"):
        fetcher.fetch("http://ok.test/x.png")
    assert net.lookups == ["ok.test"]
    assert net.connects == []


def _tls_server(tmp_path, name):
    """A pytest-httpserver speaking TLS with a self-signed certificate for `name`, and the certificate's path."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return HTTPServer(host="127.0.0.1", ssl_context=context), cert


@pytest.mark.parametrize(("certificate_for", "works"), [("ok.test", True), ("other.test", False)])
def test_case_16_https_keeps_the_name_for_sni_and_certificates_while_pinned(net, tmp_path, certificate_for, works):
    server, cert = _tls_server(tmp_path, certificate_for)
    with server:
        server.expect_request("/x.png").respond_with_data(png(), content_type="image/png")
        net.names["ok.test"] = ["127.0.0.1"]
        fetcher = fetcher_for(server, hosts=("ok.test",), allow_loopback=True)
        fetcher._session().verify = str(cert)
        url = f"https://ok.test:{server.port}/x.png"
        if works:
            assert fetcher.fetch(url) == png()
        else:
            with pytest.raises(ImageFetchError, match="could not be reached"):
                fetcher.fetch(url)
        assert net.names_looked_up() == ["ok.test"] and net.hosts_connected() == {"127.0.0.1"}


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "1.1.1.1"])
def test_case_15_public_addresses_pass_the_address_check(address):
    import ipaddress

    assert is_public(ipaddress.ip_address(address))


def test_case_16_one_resolution_per_fetch_and_the_socket_goes_to_it(net, httpserver):
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    net.names["rebind.test"] = lambda: next(answers)
    httpserver.expect_request("/x.png").respond_with_data(png(), content_type="image/png")
    fetcher = fetcher_for(httpserver, hosts=("rebind.test",), allow_loopback=True)
    assert fetcher.fetch(f"http://rebind.test:{httpserver.port}/x.png") == png()
    assert net.names_looked_up() == ["rebind.test"]
    assert net.hosts_connected() == {"127.0.0.1"}
    assert len(httpserver.log) == 1


def test_case_17_a_name_with_any_blocked_record_is_refused(net, httpserver):
    net.names["multi.test"] = ["127.0.0.1", "10.1.2.3"]
    httpserver.expect_request("/x.png").respond_with_data(png(), content_type="image/png")
    fetcher = fetcher_for(httpserver, allow_loopback=True)
    with pytest.raises(ImageFetchError, match="not a public internet address"):
        fetcher.fetch(f"http://multi.test:{httpserver.port}/x.png")
    assert net.connects == [] and len(httpserver.log) == 0


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "https://evil.test/x.png"])
def test_case_18_redirects_are_not_followed(net, httpserver, location):
    net.names["ok.test"] = ["127.0.0.1"]
    httpserver.expect_request("/x.png").respond_with_data("", status=302, headers={"Location": location})
    fetcher = fetcher_for(httpserver, hosts=("ok.test",), allow_loopback=True)
    with pytest.raises(ImageFetchError, match="redirected"):
        fetcher.fetch(f"http://ok.test:{httpserver.port}/x.png")
    assert net.hosts_connected() == {"127.0.0.1"} and net.names_looked_up() == ["ok.test"]


@pytest.mark.parametrize("fault", ["redirect_loop", "redirect_no_location", "redirect_private"])
def test_case_19_redirect_loops_and_bare_redirects_give_a_placeholder_fast(client, emulator, fault):
    set_fault(emulator, image_fault=fault)
    started = time.monotonic()
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "redirected" in response.headers["X-Image-Error"]
    assert time.monotonic() - started < 2
    assert emulator_stats(emulator)["media_calls"] == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://ok.test/x.png", "gopher://ok.test/x",
                                 "http://ok.test:22/x.png", "https://ok.test:6379/x.png", "http://[::1/x.png"])
def test_case_20_other_schemes_and_ports_are_refused_before_any_socket(net, url):
    with pytest.raises(ImageFetchError):
        fetcher_for(hosts=("ok.test",)).fetch(url)
    assert net.lookups == [] and net.connects == []


@pytest.mark.parametrize("url", ["https://ok.test@evil.test/x.png", "https://evilok.test/x.png",
                                 "https://ok.test.evil.test/x.png", "https://xcdn.test/x.png",
                                 "https://cdn.test/x.png", "https://a.cdn.test.evil.test/x.png"])
def test_case_21_lookalike_hosts_and_credentials_are_refused(net, url):
    with pytest.raises(ImageFetchError):
        fetcher_for(hosts=("ok.test", "*.cdn.test")).fetch(url)
    assert net.lookups == [] and net.connects == []


def test_case_21_allow_list_matches_exactly_or_on_a_dot_boundary():
    hosts = ("ok.test", "*.cdn.test")
    assert host_allowed("ok.test", hosts) and host_allowed("OK.test.", hosts)
    assert host_allowed("a.cdn.test", hosts) and host_allowed("a.b.cdn.test", hosts)
    assert not host_allowed("cdn.test", hosts) and not host_allowed("xcdn.test", hosts)
    assert not host_allowed("sub.ok.test", hosts) and not host_allowed("evilok.test", hosts)


def test_case_22_an_image_url_pointing_at_this_server_is_refused(emulator, tmp_path, net):
    app = make_app(emulator, tmp_path, ALLOW_PRIVATE_IMAGE_HOSTS=False)
    inject(app, DONE, record_with(image_url=f"http://127.0.0.1/image/{DONE}/0"))
    inject(app, LAKE, {**record_with(image_url=f"http://localhost:5000/thumb/{DONE}/0/384"), "id": LAKE})
    client = app.test_client()
    first = client.get(f"/thumb/{DONE}/0/384")
    assert first.status_code == 502 and "not a public" in first.headers["X-Image-Error"]
    second = client.get(f"/thumb/{LAKE}/0/384")
    assert second.status_code == 502 and "port 5000" in second.headers["X-Image-Error"]
    assert net.connects == []


def test_case_22_the_built_in_emulator_is_the_only_private_origin_allowed(sample_app):
    server = sample_app.extensions["emulator"]
    policy = sample_app.extensions["gallery"].originals.fetcher.policy
    assert policy.allow_private is False and policy.trusted == {("127.0.0.1", server.port)}
    assert sample_app.test_client().get(f"/thumb/{DONE}/0/384").status_code == 200
    with pytest.raises(BlockedUrl):
        policy.check_url(f"http://127.0.0.1:{server.port + 1}/x.png")


@pytest.mark.parametrize("path", ["/thumb?url=http://127.0.0.1/", "/thumb/?url=http://127.0.0.1/",
                                  "/image?url=http://169.254.169.254/"])
def test_case_23_no_route_takes_a_url(client, emulator, path):
    assert client.get(path).status_code == 404
    assert emulator_stats(emulator)["media_calls"] == 0


# ---- upstream bytes and decoding (24-36) -----------------------------------------------------------


def test_case_24_a_huge_content_length_is_refused_before_the_body(client, emulator):
    set_fault(emulator, image_fault="big_length")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "larger" in response.headers["X-Image-Error"]


def test_case_25_a_chunked_body_over_the_cap_is_cut_off_while_streaming(emulator, tmp_path):
    app = make_app(emulator, tmp_path, MAX_IMAGE_BYTES=512 * 1024)
    set_fault(emulator, image_fault="huge")
    response = app.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "larger" in response.headers["X-Image-Error"]
    assert app.extensions["gallery"].store.read(f"originals/{DONE}/0") is None


def test_case_26_a_gzip_bomb_is_refused_without_inflating(client, emulator):
    set_fault(emulator, image_fault="gzip_bomb")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "compressed" in response.headers["X-Image-Error"]


@pytest.mark.parametrize("fault", ["not_image", "smuggled_type", "svg", "no_type"])
def test_case_27_only_one_exact_image_content_type_is_accepted(client, emulator, fault):
    set_fault(emulator, image_fault=fault)
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "not a PNG, JPEG or WebP" in response.headers["X-Image-Error"]


@pytest.mark.parametrize(("header", "expected"), [
    ("image/png", "image/png"), ("IMAGE/PNG; charset=binary", "image/png"), ("image/png, text/html", None),
    ("image/png,text/html", None), ("", None), (None, None), ("image/svg+xml", "image/svg+xml"),
])
def test_case_27_content_type_is_parsed_strictly(header, expected):
    assert media_type_header(header) == expected


def test_case_28_a_dripping_host_hits_the_total_deadline(emulator, tmp_path):
    app = make_app(emulator, tmp_path, IMAGE_TIMEOUT=0.6)
    set_fault(emulator, image_fault="drip", DRIP_SECONDS=0.05)
    started = time.monotonic()
    response = app.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "in time" in response.headers["X-Image-Error"]
    assert time.monotonic() - started < 2.0


def test_case_29_a_host_that_never_answers_times_out_and_the_page_still_renders(emulator, tmp_path):
    app = make_app(emulator, tmp_path, IMAGE_TIMEOUT=0.4)
    client = app.test_client()
    set_fault(emulator, image_fault="hang", HANG_SECONDS=3.0)
    started = time.monotonic()
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "in time" in response.headers["X-Image-Error"]
    assert time.monotonic() - started < 1.5
    set_fault(emulator, image_fault=None)
    assert client.get(f"/thumb/{LAKE}/0/384").status_code == 200
    page = client.get(f"/tasks/{DONE},{LAKE}")
    assert page.status_code == 200
    assert len(soup(page).select("li.card--image img")) == 2  # LAKE's two images
    assert "could not be loaded" in soup(page).select_one(f"#image-{DONE}-0").text


def test_case_30_a_body_shorter_than_its_length_is_an_error_and_not_kept(client, app, emulator):
    set_fault(emulator, image_fault="short_body")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502
    assert app.extensions["gallery"].store.read(f"originals/{DONE}/0") is None
    assert app.extensions["gallery"].store.read(f"thumbs/{DONE}/0/384.webp") is None


def test_case_31_a_truncated_png_is_a_placeholder_and_not_kept(client, app, emulator):
    set_fault(emulator, image_fault="truncated")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "damaged" in response.headers["X-Image-Error"]
    assert app.extensions["gallery"].store.read(f"originals/{DONE}/0") is None


def _png_claiming(side: int) -> bytes:
    """A tiny PNG whose header claims side×side pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_case_32_a_tiny_file_claiming_huge_dimensions_is_refused(side):
    data = _png_claiming(side)
    assert len(data) < 100
    with pytest.raises(ThumbnailError, match="too large"):
        make_thumbnail(data, 384, 32_000_000)


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP", "ICO"])
def test_case_33_other_formats_labelled_png_become_a_placeholder(app, client, httpserver, fmt):
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(out, fmt)
    httpserver.expect_request("/x.png").respond_with_data(out.getvalue(), content_type="image/png")
    inject(app, DONE, record_with(image_url=httpserver.url_for("/x.png")))
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "not a PNG, JPEG or WebP" in response.headers["X-Image-Error"]


def test_case_33_eps_bytes_are_never_handed_to_ghostscript():
    with pytest.raises(ThumbnailError):
        make_thumbnail(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", 384, 32_000_000)


def test_case_34_orientation_is_applied_and_junk_exif_does_not_crash(make_image):
    rotated = Image.open(io.BytesIO(make_thumbnail(make_image((80, 40), "JPEG", orientation=6), 384, 10**7)))
    assert rotated.size[0] < rotated.size[1]
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "JPEG", exif=b"Exif\0\0" + bytes(random.Random(3).randbytes(60_000)))
    Image.open(io.BytesIO(make_thumbnail(out.getvalue(), 64, 10**7))).load()


@pytest.mark.parametrize(("mode", "fmt"), [("CMYK", "JPEG"), ("P", "PNG"), ("I;16", "PNG"), ("RGBA", "WEBP")])
def test_case_35_unusual_modes_become_clean_thumbnails(make_image, mode, fmt):
    thumb = Image.open(io.BytesIO(make_thumbnail(make_image((60, 40), fmt, mode=mode, icc=mode != "I;16"),
                                                 32, 10**7)))
    assert thumb.format == "WEBP" and thumb.size == (32, 21)
    assert not thumb.info.get("exif") and not thumb.info.get("icc_profile")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_case_36_mutated_images_raise_only_the_domain_error(make_image, fmt):
    seed = make_image((48, 32), fmt)
    rng = random.Random(fmt)
    for _ in range(150):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            make_thumbnail(bytes(data), 32, 10**6)
        except ThumbnailError:
            pass


# ---- cache and HTTP (37-44) ------------------------------------------------------------------------


def _together(count, fn):
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


def test_case_37_twenty_requests_for_one_cold_thumbnail_fetch_and_decode_once(app, emulator, monkeypatch):
    decodes = []
    # Count every full decode, the check of a fresh original included: a cold thumbnail needs only one.
    for module, name in ((thumbnailer, "make_thumbnails"), (images, "inspect")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *args, real=real: decodes.append(1) or real(*args))
    app.test_client().get(f"/api/tasks/{DONE}")  # the task record is known; the image is cold
    set_fault(emulator, image_fault="slow", IMAGE_SLOW_SECONDS=0.3)  # so all twenty are in flight together
    statuses = _together(20, lambda: app.test_client().get(f"/thumb/{DONE}/0/384").status_code)
    assert statuses == [200] * 20
    assert emulator_stats(emulator)["media_calls"] == 1
    assert len(decodes) == 1


def test_case_38_ten_concurrent_galleries_make_one_upstream_call(app, emulator):
    set_fault(emulator, "slow", SLOW_SECONDS=0.3)
    statuses = _together(10, lambda: app.test_client().get(f"/tasks/{DONE},{LAKE}").status_code)
    assert statuses == [200] * 10
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_38_a_view_that_finds_the_gallery_half_kept_waits_for_the_leader(app, emulator):
    # The leader keeps its records one by one (memory, disk, Redis), so a view arriving in between finds
    # part of the gallery kept; it must still join the leader's call, not ask upstream for the rest.
    tasks = app.extensions["gallery"].tasks
    ids = list(sample.LIGHTHOUSE_IDS)
    first = tasks.client.fetch(ids[:1])[ids[0]]
    set_fault(emulator, "slow", SLOW_SECONDS=0.5)
    calls = emulator_stats(emulator)["task_calls"]
    leader = threading.Thread(target=tasks.find, args=(ids,))
    leader.start()
    while emulator_stats(emulator)["task_calls"] == calls:  # the leader's call has reached the emulator
        time.sleep(0.01)
    tasks.keep(task_from_record(ids[0], first), first)  # as the leader does first when its answer lands
    assert [task.id for task in tasks.find(ids).tasks] == ids
    leader.join()
    assert emulator_stats(emulator)["task_calls"] == calls + 1


def test_case_39_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import os

    store = DiskStore(tmp_path)
    real_replace = os.replace

    def failing_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        store.write("thumbs/a/0/384.webp", b"x" * 1000)
    monkeypatch.setattr(os, "replace", real_replace)
    assert store.read("thumbs/a/0/384.webp") is None
    assert [p.name for p in (tmp_path / "thumbs" / "a" / "0").iterdir()] == []
    store.write("thumbs/a/0/384.webp", b"ok")
    assert store.read("thumbs/a/0/384.webp") == b"ok"


def test_case_40_the_disk_cache_evicts_the_least_recently_used_past_its_cap(tmp_path):
    import os

    store = DiskStore(tmp_path, max_bytes=10_000)
    store.write("tasks/kept.json", b"t" * 5000)  # task records do not count and are never evicted
    for n in range(30):
        store.write(f"originals/t{n}/0", bytes(1000))
        os.utime(store.path(f"originals/t{n}/0"), (1_000_000 + n, 1_000_000 + n))
        if n == 5:
            store.read("originals/t0/0")  # read: recently used again
    assert store.usage() <= 10_000
    assert store.read("originals/t29/0") is not None
    assert store.read("originals/t1/0") is None
    assert store.read("tasks/kept.json") is not None


def test_case_41_thumbnails_are_immutable_with_an_etag_and_304(client):
    first = client.get(f"/thumb/{DONE}/0/384")
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable" and first.headers["ETag"]
    again = client.get(f"/thumb/{DONE}/0/384", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_case_42_failures_are_not_stored_and_not_refetched_within_a_minute(client, emulator):
    set_fault(emulator, image_fault="404")
    first = client.get(f"/thumb/{DONE}/0/384")
    assert first.status_code == 502
    assert first.headers["Cache-Control"] == "no-store" and first.headers["Expires"] == "0"
    assert client.get(f"/thumb/{DONE}/0/768").status_code == 502
    assert client.get(f"/image/{DONE}/0").status_code == 502
    assert emulator_stats(emulator)["media_calls"] == 1
    error = client.get(f"/tasks/{DONE}/nope")
    assert error.headers["Cache-Control"] == "no-store" and error.headers["Expires"] == "0"


def test_case_43_sizes_come_from_a_fixed_set_and_each_has_its_own_entry(client, app):
    assert client.get(f"/thumb/{DONE}/0/100").status_code == 404
    small, large = client.get(f"/thumb/{DONE}/0/384"), client.get(f"/thumb/{DONE}/0/768")
    assert small.headers["ETag"] != large.headers["ETag"]
    store = app.extensions["gallery"].store
    assert store.read(f"thumbs/{DONE}/0/384.webp") == small.data
    assert store.read(f"thumbs/{DONE}/0/768.webp") == large.data != small.data


def test_case_44_every_response_carries_the_security_headers(emulator, tmp_path, monkeypatch):
    app = make_app(emulator, tmp_path, RATE_LIMIT=1)
    client = app.test_client()
    app.add_url_rule("/boom", view_func=lambda: 1 / 0)
    responses = {
        "html": client.get(f"/tasks/{DONE}"),
        "429": client.get(f"/tasks/{LAKE}"),
        "json": client.get("/healthz"),
        "image": client.get(f"/thumb/{DONE}/0/384"),
        "original": client.get(f"/image/{DONE}/0"),
        "404": client.get("/nowhere"),
        "500": client.get("/boom"),
        "static": client.get("/static/style.css"),
        "home": client.get("/"),
    }
    assert responses["429"].status_code == 429 and responses["500"].status_code == 500
    for name, response in responses.items():
        for header, value in PAGE_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        csp = response.headers["Content-Security-Policy"]
        if response.mimetype.startswith("image/"):
            assert csp.startswith("default-src 'none'"), name
        else:
            for directive in ("default-src 'self'", "img-src 'self' data:", "object-src 'none'", "base-uri 'none'",
                              "frame-ancestors 'none'", "form-action 'self'"):
                assert directive in csp, (name, directive)
        assert "X-XSS-Protection" not in response.headers
    responses["static"].close()


# ---- upstream API faults (45-56) -------------------------------------------------------------------


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


def test_case_45_a_429_with_retry_after_is_retried_after_that_long(httpserver):
    calls = scripted(httpserver, [(429, {"Retry-After": "2"}, "{}"), (200, {}, OK_BODY)])
    sleeps = []
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=sleeps.append)
    assert DONE in client.fetch([DONE])
    assert len(calls) == 2 and sleeps == [2.0]


def test_case_46_a_long_retry_after_never_sleeps_past_the_deadline(httpserver, emulator, tmp_path):
    calls = scripted(httpserver, [(429, {"Retry-After": "3600"}, "{}")])
    sleeps = []
    client = FluxClient(httpserver.url_for("/"), TOKEN, deadline=15.0, sleep=sleeps.append)
    with pytest.raises(ApiError) as raised:
        client.fetch([DONE])
    assert raised.value.kind == "rate_limited" and sleeps == [] and len(calls) == 1
    app = make_app(emulator, tmp_path, API_DEADLINE=0.5)  # the emulator's Retry-After: 1 would overrun it
    set_fault(emulator, "429")
    started = time.monotonic()
    response = app.test_client().get(f"/tasks/{DONE}")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    assert time.monotonic() - started < 0.5 and emulator_stats(emulator)["task_calls"] == 1


def test_case_47_two_500s_then_success_with_jittered_capped_backoff(httpserver):
    calls = scripted(httpserver, [(500, {}, "{}"), (500, {}, "{}"), (200, {}, OK_BODY)])
    sleeps = []
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=sleeps.append)
    assert DONE in client.fetch([DONE])
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5 and max(sleeps) <= 4.5


def test_case_48_repeated_failures_open_the_breaker_then_one_probe(httpserver, emulator, tmp_path):
    calls = scripted(httpserver, [(500, {}, "{}")])
    now = [0.0]
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None,
                        breaker=CircuitBreaker(5, 30.0, clock=lambda: now[0]),
                        budget=RetryBudget(2.0))  # every retry allowed: this test is about the breaker
    for _ in range(5):
        with pytest.raises(ApiError) as raised:
            client.fetch([DONE])
        assert raised.value.kind == "unavailable"
    assert len(calls) == 15  # 3 attempts per request
    for _ in range(3):
        with pytest.raises(ApiError) as raised:
            client.fetch([DONE])
        assert raised.value.kind == "paused" and raised.value.retry_after >= 1
    assert len(calls) == 15  # open: no upstream calls at all
    now[0] = 31.0
    with pytest.raises(ApiError):
        client.fetch([DONE])  # the one half-open probe, which fails
    assert len(calls) == 18
    with pytest.raises(ApiError) as raised:
        client.fetch([DONE])
    assert raised.value.kind == "paused" and len(calls) == 18

    app = make_app(emulator, tmp_path, API_ATTEMPTS=1)
    web = app.test_client()
    web.get(f"/tasks/{sample.PENDING_ID}")
    app.extensions["gallery"].tasks.pending_ttl = 0
    set_fault(emulator, "500")
    for _ in range(5):
        web.get(f"/tasks/{LAKE}")
    calls_before = emulator_stats(emulator)["task_calls"]
    paused = web.get(f"/tasks/{LAKE}")
    assert paused.status_code == 503 and int(paused.headers["Retry-After"]) >= 1
    stale = web.get(f"/tasks/{sample.PENDING_ID}")
    assert stale.status_code == 200 and soup(stale).select_one(".notice--stale") is not None
    assert emulator_stats(emulator)["task_calls"] == calls_before


def test_retries_stay_within_the_budget_when_the_upstream_keeps_failing(httpserver):
    calls = scripted(httpserver, [(503, {}, "{}")])
    client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None,
                        breaker=CircuitBreaker(failures=1000), budget=RetryBudget(0.1, floor=0.2))
    for _ in range(40):
        with pytest.raises(ApiError):
            client.fetch([DONE])
    # 40 calls; retries within 0.2/s × 10 s + 10 % of 40 = 6, where unbudgeted attempts would have made 120.
    assert len(calls) == 40 + 6


def test_the_retry_budget_refills_as_its_window_moves_on():
    now = [0.0]
    budget = RetryBudget(0.1, floor=0.1, window=10.0, clock=lambda: now[0])
    for _ in range(20):
        budget.called()
    assert [budget.try_retry() for _ in range(4)] == [True, True, True, False]  # 1 + 10 % of 20
    now[0] = 10.5  # those calls and retries have left the window
    budget.called()
    assert budget.try_retry() is True  # the floor: a quiet server still retries its occasional failure


@pytest.mark.parametrize(("status", "code", "kind"), [(401, "invalid_token", "auth"), (400, "bad_request",
                                                                                      "rejected")])
def test_case_49_client_errors_are_asked_once_and_explained(httpserver, emulator, tmp_path, status, code, kind):
    calls = scripted(httpserver, [(status, {}, json.dumps({"success": False, "error": {"code": code}}))])
    with pytest.raises(ApiError) as raised:
        FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None).fetch([DONE])
    assert raised.value.kind == kind and len(calls) == 1
    app = make_app(emulator, tmp_path)
    set_fault(emulator, "401")
    response = app.test_client().get(f"/tasks/{DONE}")
    assert response.status_code == 502 and "ACEDATACLOUD_API_TOKEN" in response.get_data(as_text=True)
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_50_a_batch_missing_an_item_renders_the_others_in_order(client, emulator):
    set_fault(emulator, "partial_batch")
    response = client.get(f"/tasks/{MULTI},{DONE},{LAKE}")
    assert response.status_code == 200
    order = [li["data-task"] for li in soup(response).select("ul.grid > li")]
    assert list(dict.fromkeys(order)) == [MULTI, DONE, LAKE]
    statuses = {li["data-task"]: li["data-status"] for li in soup(response).select("ul.grid > li")}
    assert "unknown" in statuses.values() and "done" in statuses.values()


def test_case_51_odd_shapes_and_malformed_answers_never_give_a_500(app, client, emulator):
    inject(app, DONE, {"id": DONE, "request": {"prompt": "p"}, "response": {"success": True, "data": "nope"}})
    inject(app, LAKE, {"id": LAKE, "request": {}, "response": {"success": True, "data": [{"image_url": 7}]}})
    page = client.get(f"/tasks/{DONE},{LAKE}")
    assert page.status_code == 200
    assert soup(page).select_one(f"#task-{DONE}")["data-status"] == "pending"
    assert "no usable image address" in soup(page).select_one(f"#image-{LAKE}-0").text
    set_fault(emulator, "malformed")
    assert client.get(f"/tasks/{MULTI}").status_code == 502


def test_case_52_a_kept_copy_is_served_with_an_as_of_note_when_the_upstream_fails(emulator, tmp_path):
    app = make_app(emulator, tmp_path, API_ATTEMPTS=1)
    client = app.test_client()
    client.get(f"/tasks/{sample.PENDING_ID},{DONE}")  # pending: would be asked again after PENDING_TTL
    app.extensions["gallery"].tasks.pending_ttl = 0
    set_fault(emulator, "500")
    page = client.get(f"/tasks/{sample.PENDING_ID},{DONE}")
    assert page.status_code == 200
    note = soup(page).select_one(".notice--stale")
    assert note is not None and "as of" in note.text
    assert [li["data-status"] for li in soup(page).select("ul.grid > li")] == ["pending", "done"]
    body = client.get(f"/api/tasks/{sample.PENDING_ID}").get_json()
    assert body["as_of"] and body["tasks"][0]["status"] == "pending"
    assert client.get(f"/tasks/{LAKE}").status_code == 502  # nothing kept for this one: the error page


def test_case_53_a_finished_gallery_costs_one_call_even_across_a_restart(emulator, tmp_path):
    ids = f"{DONE},{sample.FAILED_ID},{LAKE}"
    first = make_app(emulator, tmp_path)
    first.test_client().get(f"/tasks/{ids}")
    first.test_client().get(f"/tasks/{ids}")
    restarted = make_app(emulator, tmp_path)
    assert restarted.test_client().get(f"/tasks/{ids}").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_53_a_pending_task_is_asked_again_after_its_ttl(app, client, emulator):
    client.get(f"/tasks/{sample.PENDING_ID}")
    client.get(f"/tasks/{sample.PENDING_ID}")
    assert emulator_stats(emulator)["task_calls"] == 1
    app.extensions["gallery"].tasks.pending_ttl = 0
    client.get(f"/tasks/{sample.PENDING_ID}")
    assert emulator_stats(emulator)["task_calls"] == 2


def test_case_54_the_61st_gallery_request_in_a_minute_is_a_429(app, client, emulator):
    for _ in range(60):
        assert client.get(f"/tasks/{DONE}").status_code == 200
    response = client.get(f"/tasks/{DONE}")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert client.get(f"/api/tasks/{DONE}").status_code == 429
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 200  # images have their own allowance
    assert client.get("/healthz").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_55_a_spoofed_forwarded_for_does_not_change_the_limit_key(emulator, tmp_path):
    client = make_app(emulator, tmp_path, RATE_LIMIT=2).test_client()
    statuses = [client.get(f"/tasks/{DONE}", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]
    behind_proxy = make_app(emulator, tmp_path, RATE_LIMIT=2, PROXY_HOPS=1).test_client()
    statuses = [behind_proxy.get(f"/tasks/{DONE}", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 200]


def test_case_56_decodes_are_bounded_and_a_full_queue_is_a_503(emulator, tmp_path):
    app = make_app(emulator, tmp_path, THUMB_WORKERS=2, THUMB_QUEUE=16)
    app.test_client().get("/api/tasks/" + ",".join(sample.SAMPLE_GALLERIES["Sizes and shapes"]))
    keys = [(task, n) for task in sample.SAMPLE_GALLERIES["Sizes and shapes"]
            for n in range(len(sample.SAMPLES[task].seeds))][:10]
    results = []
    lock = threading.Lock()

    def one(task, n):
        status = app.test_client().get(f"/thumb/{task}/{n}/384").status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=one, args=key) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 10
    assert app.extensions["gallery"].slots.peak <= 2

    full = make_app(emulator, tmp_path / "full", THUMB_WORKERS=1, THUMB_QUEUE=0)
    slots = full.extensions["gallery"].slots
    release = threading.Event()
    holder = threading.Thread(target=slots.run, args=(release.wait,))
    holder.start()
    try:
        while slots.active == 0:
            time.sleep(0.01)
        response = full.test_client().get(f"/thumb/{DONE}/0/384")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    finally:
        release.set()
        holder.join()
    assert full.test_client().get(f"/thumb/{DONE}/0/384").status_code == 200


def test_downloads_are_capped_per_process_and_a_full_queue_is_a_503(emulator, tmp_path):
    app = make_app(emulator, tmp_path, MAX_FETCHES=1, THUMB_QUEUE=0)
    app.test_client().get(f"/api/tasks/{DONE},{LAKE}")
    set_fault(emulator, image_fault="slow", IMAGE_SLOW_SECONDS=1.0)
    downloads = app.extensions["gallery"].originals.downloads
    first = threading.Thread(target=lambda: app.test_client().get(f"/image/{DONE}/0"))
    first.start()
    try:
        while downloads.active == 0:  # the first download holds the only slot
            time.sleep(0.01)
        response = app.test_client().get(f"/image/{LAKE}/0")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        first.join()
    assert emulator_stats(emulator)["media_calls"] == 1
    assert app.extensions["gallery"].originals.failure(LAKE, 0) is None  # busy is not broken
    assert app.test_client().get(f"/image/{LAKE}/0").status_code == 200


def test_case_56_slots_refuse_at_once_when_the_queue_is_full():
    slots = Slots(1, queue=0)
    release = threading.Event()
    holder = threading.Thread(target=slots.run, args=(release.wait,))
    holder.start()
    while slots.active == 0:
        time.sleep(0.01)
    with pytest.raises(Busy):
        slots.run(lambda: None)
    release.set()
    holder.join()
    assert slots.run(lambda: 5) == 5


# ---- links that keep working, and the access key ---------------------------------------------------


def test_a_viewed_gallery_still_renders_with_its_images_when_the_upstream_is_gone(emulator, tmp_path):
    ids = f"{DONE},{LAKE}"
    first = make_app(emulator, tmp_path).test_client()
    assert first.get(f"/tasks/{ids}").status_code == 200
    originals = {path: first.get(path).data for path in (f"/image/{DONE}/0", f"/image/{LAKE}/1")}
    thumbs = {path: first.get(path).data for path in (f"/thumb/{DONE}/0/384", f"/thumb/{LAKE}/1/768")}
    # A restart against an upstream that is not there at all (nothing listens on port 9).
    gone = gallery_app("http://127.0.0.1:9", tmp_path / "cache")
    client = gone.test_client()
    page = client.get(f"/tasks/{ids}")
    assert page.status_code == 200 and len(soup(page).select("li.card--image img")) == 3
    for path, data in {**originals, **thumbs}.items():
        response = client.get(path)
        assert response.status_code == 200 and response.data == data
    # Sizes not made before are made from the kept original.
    assert client.get(f"/thumb/{LAKE}/0/768").status_code == 200


def test_access_key_guards_every_route_but_healthz(emulator, tmp_path):
    app = make_app(emulator, tmp_path, ACCESS_KEY="team-secret-42")
    client = app.test_client()
    link = f"/tasks/{DONE}"
    page = client.get(link)
    assert page.status_code == 401 and soup(page).select_one("form input[name=key]") is not None
    assert soup(page).select_one("input[name=next]")["value"] == link
    assert client.get(f"/api/tasks/{DONE}").status_code == 401
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 0
    wrong = client.post("/access", data={"key": "nope", "next": link})
    assert wrong.status_code == 403
    entered = client.post("/access", data={"key": "team-secret-42", "next": link})
    assert entered.status_code == 303 and entered.headers["Location"] == link
    cookie = entered.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "team-secret-42" not in cookie
    assert client.get(link).status_code == 200
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/", "/\\evil.test", "javascript:alert(1)"])
def test_access_form_never_sends_people_elsewhere(emulator, tmp_path, target):
    client = make_app(emulator, tmp_path, ACCESS_KEY="k").test_client()
    response = client.post("/access", data={"key": "k", "next": target})
    assert response.headers["Location"] == "/"


def test_access_cookies_end_when_the_key_changes(emulator, tmp_path):
    client = make_app(emulator, tmp_path, ACCESS_KEY="old").test_client()
    client.post("/access", data={"key": "old", "next": "/"})
    cookie = client.get_cookie("gallery_access").value
    other = make_app(emulator, tmp_path, ACCESS_KEY="new").test_client()
    other.set_cookie("gallery_access", cookie)
    assert other.get(f"/tasks/{DONE}").status_code == 401


def test_an_image_host_that_is_unreachable_is_a_clear_placeholder(emulator, tmp_path):
    app = make_app(emulator, tmp_path)
    inject(app, DONE, record_with(image_url="http://127.0.0.1:9/x.png"))
    response = app.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "could not be reached" in response.headers["X-Image-Error"]
