"""Outbound HTTP for health checks: the one way an adapter reaches a provider.

Every request is SSRF-guarded and bounded (reliability.md §2 and §5):
- the URL shape is checked (scheme, userinfo, CR/LF/NUL/space, fragments, IDN → punycode, single labels, ports);
- the host is resolved once and the request is refused if ANY address is blocked (an explicit CIDR deny-list
  applied after unwrapping IPv4-mapped/compatible, 6to4 and NAT64 forms; link-local and cloud-metadata
  addresses are refused even when private networks are allowed);
- the connection goes to the checked address (pinned), while Host and TLS SNI/verification keep the name,
  so a second DNS answer (rebinding) is never used;
- connect/read timeouts plus a total deadline enforced by a watchdog that shuts the socket down (a server
  that drips one byte a second defeats a per-read timeout); a response size cap counted on decoded bytes;
  no redirects; no proxies from the environment (urllib3 never reads them); an identifying User-Agent.

Loopback and private ranges are reachable only for the local services (comfyui, llm_local, lan, ssh) or
when the operator lists them in the HEALTH_ALLOWED_NETWORKS setting. That setting is the only way to widen
the policy: nothing stored on a provider (and so nothing an import file carries) can.
"""
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

import psutil
import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Services whose normal home is the local machine or the LAN: loopback and private ranges are allowed for them.
PRIVATE_SERVICES = frozenset({"comfyui", "llm_local", "lan", "ssh"})


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# reliability.md §2.2 rule 6: merged from Mastodon, Sentry, Saleor requests-hardened and GitLab.
# Never rely on is_private/is_global: on CPython 3.11.7 they misjudge 192.0.0.192 and embedded forms.
DENIED_NETWORKS = _networks(
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:10::/28",
    "2001:20::/28", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
)
# Reachable for the local services: loopback, RFC 1918, CGNAT (Tailscale-style LANs) and IPv6 ULA.
PRIVATE_NETWORKS = _networks("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                             "100.64.0.0/10", "fc00::/7")
# Refused for every service and every allow-list (rule 7, gitlab#628701): link-local and metadata endpoints.
ALWAYS_DENIED_NETWORKS = _networks("169.254.0.0/16", "fe80::/10")
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200", "192.0.0.192"))
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_FORBIDDEN_IN_URL = ("\r", "\n", "\x00", " ", "\t", "%0d", "%0a", "%00", "%09", "%20")
_CHUNK = 64 * 1024


class OutboundError(Exception):
    """A request that did not produce a usable response; `status` is a health taxonomy value."""

    status = "error"

    def __init__(self, detail: str, *, http_status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.http_status = http_status


class Blocked(OutboundError):
    status = "blocked"


class Timeout(OutboundError):
    status = "timeout"


class Unreachable(OutboundError):
    status = "unreachable"


class ResponseRefused(OutboundError):
    """The server answered, but with something we will not consume (a redirect, an oversized body)."""


@dataclass(frozen=True)
class Policy:
    """What one check may reach and how long it may take; built from settings, never from provider data."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    extra_ports: frozenset[int] = frozenset()
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    deadline: float = 10.0
    max_bytes: int = 1024 * 1024
    user_agent: str = "comfyvn-compute-advisor-health/1.0"


def policy_for(*, service: str, extra_ports=()) -> Policy:
    """The policy for a service: private ranges only for the local services; ports beyond 443/8443 per provider."""
    return Policy(
        allow_private=service in PRIVATE_SERVICES,
        allowed_networks=tuple(ipaddress.ip_network(c, strict=False) for c in settings.HEALTH_ALLOWED_NETWORKS),
        extra_ports=frozenset(int(p) for p in extra_ports),
        connect_timeout=settings.HEALTH_CONNECT_TIMEOUT,
        read_timeout=settings.HEALTH_READ_TIMEOUT,
        deadline=settings.HEALTH_DEADLINE,
        max_bytes=settings.HEALTH_MAX_RESPONSE_BYTES,
    )


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped, IPv4-compatible, 6to4 or NAT64 IPv6 address (else `ip`)."""
    if ip.version == 4:
        return ip
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


@cache
def _own_addresses() -> frozenset[IPAddress]:
    """This host's interface addresses: a provider pointing at them reaches our own services."""
    found = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    found.add(ipaddress.ip_address(addr.address.split("%")[0]))
                except ValueError:
                    continue
    return frozenset(found)


def address_trust(ip: IPAddress, policy: Policy) -> bool:
    """True when `ip` is operator- or service-trusted (any port, plain http), False when public; Blocked otherwise."""
    inner = unwrap(ip)
    candidates = {ip, inner}
    if any(c in METADATA_ADDRESSES for c in candidates) or any(
            c in net for c in candidates for net in ALWAYS_DENIED_NETWORKS):
        raise Blocked(f"address {ip} is link-local or a cloud metadata endpoint")
    if any(inner in net for net in policy.allowed_networks):
        return True
    if policy.allow_private and any(inner in net for net in PRIVATE_NETWORKS):
        return True
    if any(c in net for c in candidates for net in DENIED_NETWORKS) or inner in _own_addresses():
        raise Blocked(f"address {ip} is not a public address")
    return False


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def url_check(url: str) -> Target:
    """Parse and shape-check a URL; no DNS here. Raises Blocked."""
    if not isinstance(url, str) or not url:
        raise Blocked("no URL configured")
    lowered = url.lower()
    if any(bad in lowered for bad in _FORBIDDEN_IN_URL):
        raise Blocked("URL contains control characters, spaces or encoded line breaks")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Blocked("URL is malformed") from exc
    if parts.scheme not in ("http", "https"):
        raise Blocked(f"scheme '{parts.scheme}' is not allowed (http/https only)")
    if "@" in parts.netloc or parts.username or parts.password:
        raise Blocked("URLs with user info are not allowed")
    if parts.fragment or "#" in url:
        raise Blocked("URLs with fragments are not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Blocked("URL has no host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise Blocked("host name is not a valid IDN") from exc
    if host in METADATA_HOSTS:
        raise Blocked(f"host '{host}' is a cloud metadata endpoint")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port or (443 if parts.scheme == "https" else 80), path=path)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(host: str, port: int, policy: Policy) -> tuple[list[tuple], bool]:
    """Resolve once; every address must pass. Returns the addrinfo list to connect to and whether it is trusted."""
    if "." not in host and not _is_ip_literal(host) and not policy.allow_private:
        raise Blocked(f"single-label host '{host}' is not allowed")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # Fail closed: no fallback request without the guard (gitlab-ce#63959).
        raise Unreachable(f"DNS resolution failed for '{host}'") from exc
    if not infos:
        raise Unreachable(f"DNS returned no address for '{host}'")
    trusted = [address_trust(ipaddress.ip_address(info[4][0].split("%")[0]), policy) for info in infos]
    return infos, all(trusted)


def target_check(url: str, policy: Policy) -> tuple[Target, list[tuple]]:
    """Full connect-time check of a URL: shape, resolution, every address, scheme and port rules."""
    target = url_check(url)
    infos, trusted = resolve(target.host, target.port, policy)
    if not trusted:
        _public_rules_check(target, policy)
    return target, infos


def _public_rules_check(target: Target, policy: Policy) -> None:
    """Public destinations: https only, on 443/8443 unless the provider lists another port."""
    if target.scheme != "https":
        raise Blocked("plain http is allowed only to local or operator-allowed networks")
    if target.port not in {443, 8443} | policy.extra_ports:
        raise Blocked(f"port {target.port} is not allowed for a public host")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def json(self):
        """The decoded JSON body, or None when it is not JSON (never raises)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class _PinnedMixin:
    """Connects to the already-checked addresses instead of resolving the host name again."""

    def __init__(self, *args, addresses: list[tuple], client: "Client", **kwargs):
        super().__init__(*args, **kwargs)
        self._addresses = addresses
        self._client = client

    def _new_conn(self) -> socket.socket:
        return self._client.open_socket(self._addresses, self.timeout)


class _PinnedHTTPConnection(_PinnedMixin, urllib3.connection.HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedMixin, urllib3.connection.HTTPSConnection):
    pass


@dataclass
class Client:
    """One health check's HTTP client: every request shares the check's total deadline."""

    policy: Policy
    started: float = field(default_factory=time.monotonic)
    _sockets: list = field(default_factory=list, init=False, repr=False)
    _expired: bool = field(default=False, init=False)

    @property
    def remaining(self) -> float:
        return self.started + self.policy.deadline - time.monotonic()

    def open_socket(self, addresses: list[tuple], timeout: float) -> socket.socket:
        """Open a TCP connection to the first reachable checked address, under the watchdog."""
        last: OSError | None = None
        for family, _type, proto, _canon, sockaddr in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM, proto)
            self._sockets.append(sock)
            sock.settimeout(timeout)
            try:
                sock.connect(sockaddr)
            except TimeoutError as exc:
                sock.close()
                raise Timeout("connect timed out") from exc
            except OSError as exc:
                sock.close()
                last = exc
                continue
            return sock
        raise Unreachable(_os_error_detail(last))

    @property
    def expired(self) -> bool:
        return self._expired

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Within the block, reaching the deadline shuts every socket of this check down (unblocking any read)."""
        if self.remaining <= 0:
            raise Timeout("total deadline exceeded")
        watchdog = threading.Timer(self.remaining, self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            yield
        finally:
            watchdog.cancel()

    def _expire(self) -> None:
        self._expired = True
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def request(self, method: str, url: str, *, headers: dict | None = None, body: bytes | str | None = None,
                ) -> Response:
        """Send one request (no redirects, no retries) and read at most `max_bytes` before the deadline."""
        target, addresses = target_check(url, self.policy)
        if isinstance(body, str):
            body = body.encode()  # http.client would encode text as Latin-1
        conn_cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        conn = conn_cls(target.host, target.port, timeout=min(self.policy.connect_timeout, self.remaining),
                        addresses=addresses, client=self)
        all_headers = {"User-Agent": self.policy.user_agent, "Accept": "application/json",
                       "Accept-Encoding": "gzip, deflate", **(headers or {})}
        try:
            with self.guard():
                return self._exchange(conn, method, target.path, all_headers, body)
        except OutboundError:
            if self._expired:
                raise Timeout("total deadline exceeded") from None
            raise
        except (TimeoutError, urllib3.exceptions.TimeoutError) as exc:
            raise Timeout("total deadline exceeded" if self._expired else "read timed out") from exc
        except ssl.SSLError as exc:
            raise OutboundError("TLS handshake or certificate verification failed") from exc
        except (OSError, http.client.HTTPException, Urllib3Error) as exc:
            if self._expired:
                raise Timeout("total deadline exceeded") from exc
            if isinstance(exc, OSError) and not isinstance(exc, ConnectionResetError | BrokenPipeError):
                raise Unreachable(_os_error_detail(exc)) from exc
            raise OutboundError("connection failed or the response was malformed") from exc
        finally:
            conn.close()

    def _exchange(self, conn, method, path, headers, body) -> Response:
        conn.connect()
        # urllib3 applies conn.timeout to the socket again in getresponse(): from here on it is the read timeout.
        conn.timeout = min(self.policy.read_timeout, max(self.remaining, 0.001))
        conn.sock.settimeout(conn.timeout)
        conn.request(method, path, body=body, headers=headers, preload_content=False)
        resp = conn.getresponse()
        status = resp.status
        if 300 <= status < 400:
            raise ResponseRefused(f"redirect (HTTP {status}) not followed", http_status=status)
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.policy.max_bytes:
            raise ResponseRefused(f"response larger than the {self.policy.max_bytes} byte cap", http_status=status)
        chunks, size = [], 0
        # Decoded bytes are counted, so a gzip bomb stops at the cap too.
        for chunk in resp.stream(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > self.policy.max_bytes:
                raise ResponseRefused(f"response larger than the {self.policy.max_bytes} byte cap",
                                      http_status=status)
            if self.remaining <= 0:
                raise Timeout("total deadline exceeded", http_status=status)
            chunks.append(chunk)
        headers_out = {k.lower(): v for k, v in resp.headers.items()}
        return Response(status=status, headers=headers_out, body=b"".join(chunks))


def _os_error_detail(exc: OSError | None) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if exc is not None and exc.errno:
        return f"connection failed ({exc.__class__.__name__}, errno {exc.errno})"
    return "connection failed"


def base_url_check(*, url: str, service: str, extra_ports=()) -> None:
    """Save/import-time check of a provider base URL without DNS: shape, scheme and literal addresses.

    Raises Blocked. Connect time re-checks everything after resolution (authoritative, DNS changes).
    Numeric forms the resolver accepts (2130706433, 0x7f000001, 0177.0.0.1, 127.1) are decoded here so they
    cannot slip past as "host names".
    """
    policy = policy_for(service=service, extra_ports=extra_ports)
    if service == "ssh":
        _ssh_url_check(url, policy)
        return
    target = url_check(url)
    literal = _literal_address(target.host)
    if literal is None:
        if "." not in target.host and not policy.allow_private:
            raise Blocked(f"single-label host '{target.host}' is not allowed")
        trusted = policy.allow_private
    else:
        trusted = address_trust(literal, policy)
    if not trusted:
        _public_rules_check(target, policy)


def _ssh_url_check(url: str, policy: Policy) -> None:
    """An SSH base URL is ssh://host[:port]; HTTP's scheme and port rules do not apply, the address rules do."""
    if not url:
        return  # the SSH adapter can take its host from the provider's config instead
    if any(bad in url.lower() for bad in _FORBIDDEN_IN_URL):
        raise Blocked("URL contains control characters, spaces or encoded line breaks")
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname or parts.username or parts.password:
        raise Blocked("SSH providers use ssh://host[:port]")
    if parts.hostname in METADATA_HOSTS:
        raise Blocked(f"host '{parts.hostname}' is a cloud metadata endpoint")
    literal = _literal_address(parts.hostname)
    if literal is not None:
        address_trust(literal, policy)


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None
