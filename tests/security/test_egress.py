"""Where image fetches may go: allow-lists, private addresses, DNS rebinding, redirects, schemes and ports.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""


import time

import pytest
from pytest_httpserver import HTTPServer

from gallery.images.egress import BlockedUrl, host_allowed, is_public
from gallery.images.originals import ImageFetchError
from security_helpers import DONE, LAKE, fetcher_for, inject, make_app, png, record_with
from support import emulator_stats, set_fault


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
