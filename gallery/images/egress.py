"""Where image fetches may go: URL rules checked before any socket, and an address check at connect time."""

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

log = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# `is_global` misses some of these on older Pythons (cpython #113171), and it calls NAT64 and 6to4 addresses
# global although they lead to IPv4 ones: the union of Synapse's and requests-hardened's lists, by hand.
BLOCKED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "100::/64", "2001::/32", "2001:20::/28", "2001:db8::/32", "2002::/16", "3fff::/20",
    "5f00::/16", "64:ff9b::/96", "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedUrl(ValueError):
    """A URL the gallery will not fetch; the message says why, for a person."""


class BlockedAddress(NewConnectionError):
    """A host name that resolved to an address the gallery will not connect to."""


def embedded(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped or IPv4-compatible IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, the deprecated IPv4-compatible form
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: Address) -> bool:
    """Whether an address is one the public internet routes to, with embedded IPv4 forms unwrapped."""
    inner = embedded(address)
    if any(inner in network for network in BLOCKED_NETWORKS if network.version == inner.version):
        return False
    return inner.is_global and not inner.is_multicast


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether `host` matches an allow-list entry: exactly, or `*.example.com` for names under example.com only."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif pattern and host == pattern:
            return True
    return False


@dataclass(frozen=True)
class EgressPolicy:
    """The rules for image fetches; the defaults are the strict ones.

    `allow_private` lifts the address and port checks; `allow_loopback` lifts the address check for loopback
    only and `ports` widens the port check (both for tests); `trusted` lists exact (host, port) origins that
    skip every check but the scheme and credentials, such as the built-in emulator's own.
    """

    hosts: tuple[str, ...] = ()
    allow_private: bool = False
    allow_loopback: bool = False
    trusted: frozenset[tuple[str, int]] = frozenset()
    ports: frozenset[int] = frozenset({80, 443})

    def check_url(self, url: str) -> None:
        """Refuse a URL by its text alone, before any name is looked up or any socket opened."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise BlockedUrl("the image address is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise BlockedUrl("the image address is not an http or https URL")
        if "@" in parts.netloc or parts.username is not None:
            raise BlockedUrl("the image address carries credentials")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise BlockedUrl("the image address names no host")
        port = port or DEFAULT_PORTS[scheme]
        if (host, port) in self.trusted:
            return
        if self.hosts and not host_allowed(host, self.hosts):
            raise BlockedUrl(f"the image host {host} is not on this server's list of image hosts")
        if not self.allow_private and port not in self.ports:
            raise BlockedUrl(f"the image address uses port {port}, which this server does not fetch from")

    def resolve(self, host: str, port: int) -> str:
        """The one address to connect to: every address the name resolves to must pass, or none is used."""
        records = socket.getaddrinfo(host, port, urllib3_connection.allowed_gai_family(), socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(record[4][0].split("%")[0]) for record in records]
        if not addresses:
            raise socket.gaierror(f"{host} has no address")
        if not self.allow_private and (host, port) not in self.trusted:
            for address in addresses:
                if not (is_public(address) or (self.allow_loopback and embedded(address).is_loopback)):
                    log.warning("image host %s resolved to a non-public address; not connecting", host)
                    raise BlockedAddress(None, f"{host} resolves to a non-public address")
        return str(addresses[0])


class _GuardedConnection:
    """Mixed into urllib3's connections: resolve once through the policy, then connect to that address only."""

    policy: EgressPolicy

    def _new_conn(self):  # noqa: ANN202 - urllib3's own hook
        # SNI and certificate checks still use self.host; only the socket goes to the checked address.
        address = self.policy.resolve(self._dns_host, self.port)
        try:
            return urllib3_connection.create_connection((address, self.port), self.timeout,
                                                        source_address=self.source_address,
                                                        socket_options=self.socket_options)
        except TimeoutError as error:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from error
        except OSError as error:
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


class _GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connection pools open only guarded connections."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        attrs = {"policy": self.policy}
        http = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), attrs)
        https = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), attrs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


def guarded_session(policy: EgressPolicy) -> requests.Session:
    """A session for image hosts: no environment proxies or .netrc, no cookies kept, guarded connections."""
    session = requests.Session()
    session.trust_env = False  # a proxy would connect for us, out of reach of the address check
    session.cookies.set_policy(_NoCookies())
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def blocked_reason(error: BaseException) -> str | None:
    """The BlockedAddress message hidden inside a requests error, if that is what it was."""
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue  # `reason` is sometimes a plain string (ssl errors)
        seen.add(id(current))
        if isinstance(current, BlockedAddress):
            return str(current.args[-1]) if current.args else "blocked"
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None),
                      *(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))])
    return None


class _NoCookies:
    """A cookie policy that accepts none: an image host's Set-Cookie must never reach another request."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie, request) -> bool:  # noqa: ANN001 - http.cookiejar's interface
        return False

    def return_ok(self, cookie, request) -> bool:  # noqa: ANN001
        return False

    def domain_return_ok(self, domain, request) -> bool:  # noqa: ANN001
        return False

    def path_return_ok(self, path, request) -> bool:  # noqa: ANN001
        return False
