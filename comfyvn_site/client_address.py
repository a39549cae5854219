"""Which address a request comes from, decided by the configured number of trusted proxies (never by Host).

With COMFYVN_TRUSTED_PROXIES=0 the socket peer (REMOTE_ADDR) is the client and X-Forwarded-For is ignored,
because a client can send any X-Forwarded-For it likes. Behind N proxies the client is the N-th entry from
the right, the one our nearest trusted proxy appended; a missing header fails closed (reliability.md §1.1).
"""
import ipaddress

from django.conf import settings


def client_address(request) -> str | None:
    """The client's IP address as the trusted proxies report it, or None when it cannot be trusted."""
    proxies = settings.COMFYVN_TRUSTED_PROXIES
    if proxies <= 0:
        return request.META.get("REMOTE_ADDR") or None
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else None


def is_loopback(address: str | None) -> bool:
    """127.0.0.0/8 and ::1, with IPv4-mapped IPv6 (::ffff:127.0.0.1) unwrapped first."""
    try:
        ip = ipaddress.ip_address((address or "").strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def client_is_loopback(request) -> bool:
    return is_loopback(client_address(request))
