"""Base-URL safety: only http(s) URLs naming a public host pass (no SSRF through a request).

No DNS look-ups happen here; code that connects must still check the address a name
resolves to.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_BASE_URL_CHARS = 2048
_PUBLIC_URL_HINT = "give the service's public address, e.g. https://api.example.com/v1"

_METADATA_IPS = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",
    )
)
_METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    }
)
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
# Public names that resolve to loopback or to any address written into them.
_REBINDING_SUFFIXES = (
    "localtest.me",
    "lvh.me",
    "nip.io",
    "sslip.io",
    "xip.io",
    "traefik.me",
    "vcap.me",
    "localhost.run",
)
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_HOST_CHARS = re.compile(r"^[a-z0-9._-]+$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_ipv4_number(part: str) -> int | None:
    """One part of a loose IPv4 address, as browsers and inet_aton read it."""
    if part.startswith("0x"):
        digits = part[2:] or "0"
        return int(digits, 16) if re.fullmatch(r"[0-9a-f]+", digits) else None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if re.fullmatch(r"[0-7]+", part) else None
    return int(part) if part.isdigit() else None


def _parse_loose_ipv4(host: str) -> ipaddress.IPv4Address | str | None:
    """Read ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1`` like a browser would.

    Returns the address, None when the host is a name, or a problem string when the host
    ends in a number but is not a valid IPv4 address.
    """
    labels = host.split(".")
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    invalid = f"the host {host!r} ends in a number but is not a valid IPv4 address"
    numbers = [_parse_ipv4_number(label) for label in labels]
    if len(labels) > 4 or any(n is None for n in numbers):
        return invalid
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return invalid
    total = values[-1]
    for index, value in enumerate(values[:-1]):
        total += value << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64, IPv4-compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _address_problem(ip: IPAddress) -> str | None:
    """Why the bot must not call this address, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            why = _address_problem(embedded) or "is public: write that IPv4 address itself"
            return f"carries the IPv4 address {embedded}, which {why}"
    if ip in _METADATA_IPS:
        return "is a cloud metadata service address"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "is an unspecified ('this network') address"
    if ip.is_loopback:
        return "is a loopback address (this machine)"
    if ip.is_link_local:
        return "is a link-local address (169.254.0.0/16, fe80::/10)"
    if ip.is_multicast:
        return "is a multicast address"
    if any(ip in network for network in _PRIVATE_NETWORKS):
        return "is a private network address (10/8, 172.16/12, 192.168/16, fc00::/7)"
    if ip in _SHARED_NETWORK:
        return "is a shared carrier-grade NAT address (100.64.0.0/10)"
    if ip.is_reserved:
        return "is a reserved address"
    if not ip.is_global:
        return "is a special-purpose address, not a public internet address"
    return None


def _name_problem(host: str) -> str | None:
    """Why a host name is refused without resolving it, or None."""
    if host == "localhost" or host.endswith(".localhost"):
        return "is a loopback name (localhost)"
    if host in _METADATA_HOSTS:
        return "is a cloud metadata service name"
    if "." not in host:
        return "is a single-label name that only resolves inside a private network"
    if host.endswith(_INTERNAL_SUFFIXES):
        return "is in a private-network domain (.local, .internal, ...)"
    if any(host == s or host.endswith("." + s) for s in _REBINDING_SUFFIXES):
        return "is a public name that resolves to loopback or to arbitrary addresses"
    if any(not label or len(label) > 63 for label in host.split(".")):
        return "is not a valid host name (empty or over-long label)"
    return None


def _host_problem(host: str, bracketed: bool) -> str | None:
    if bracketed:
        if "%" in host:
            return f"the host [{host}] has an IPv6 zone identifier, which is not allowed"
        try:
            ip: IPAddress = ipaddress.IPv6Address(host)
        except ValueError:
            return f"the host [{host}] is not a valid IPv6 address"
        why = _address_problem(ip)
        return f"the host [{ip}] {why}" if why else None
    name = host.rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return f"the host {host!r} is not a valid international domain name"
    name = name.lower()
    if not name or not _HOST_CHARS.match(name):
        return f"the host {host!r} has characters not allowed in a host name"
    loose = _parse_loose_ipv4(name)
    if isinstance(loose, str):
        return loose
    if loose is not None:
        why = _address_problem(loose)
        written = "" if host == str(loose) else f" (written as {host!r})"
        return f"the host {loose}{written} {why}" if why else None
    why = _name_problem(name)
    return f"the host {name!r} {why}" if why else None


def check_base_url(url: str) -> str | None:
    """Return why ``url`` may not be an integration's Base URL, or None when it may.

    Only http(s) URLs with a public host are accepted: no credentials, no loopback,
    private, link-local, metadata, unspecified, multicast or reserved addresses, also when
    written as decimal, hex, octal, short or IPv4-in-IPv6 numbers. DNS is not resolved, so
    whoever connects must still check the address a name resolves to.
    """
    if not isinstance(url, str) or not url.strip():
        return f"the Base URL is empty; {_PUBLIC_URL_HINT}"
    url = url.strip()
    if len(url) > MAX_BASE_URL_CHARS:
        return f"the Base URL is longer than {MAX_BASE_URL_CHARS} characters; {_PUBLIC_URL_HINT}"
    if any(c.isspace() or c == "\\" or not c.isprintable() for c in url):
        return (
            "the Base URL contains spaces, backslashes or control characters; " + _PUBLIC_URL_HINT
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"the Base URL is not a valid URL ({exc}); {_PUBLIC_URL_HINT}"
    scheme = parts.scheme.lower()
    if "://" not in url and scheme in ("https", "http"):
        return (
            f"the Base URL must start with {scheme}:// (two slashes), e.g. https://api.example.com"
        )
    if "://" not in url and (not scheme or "." in scheme):
        return f"the Base URL has no scheme; start it with https://, e.g. https://{url[:80]}"
    if scheme not in ("https", "http"):
        return f"the scheme '{scheme}:' is not allowed; use https:// (or http://)"
    if "@" in parts.netloc:
        return (
            "the Base URL contains credentials (user:password@); never put secrets in an "
            "issue: remove them and choose the Authentication type instead"
        )
    if not parts.hostname:
        return f"the Base URL has no host; {_PUBLIC_URL_HINT}"
    if port == 0:
        return "the Base URL has port 0, which is not a usable port"
    problem = _host_problem(parts.hostname, bracketed="[" in parts.netloc)
    if problem:
        return f"{problem}; the bot only calls public services: {_PUBLIC_URL_HINT}"
    return None
