"""Where webhooks may go: https:// URLs whose host resolves only to public addresses.

Checked when a subscription is created or changed, and again for every connection the
dispatcher opens (worker/transport.py vets the very addresses it then connects to, so a DNS
answer that changes in between cannot smuggle a request to an internal service).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from timeledger.server.config import Settings
from timeledger.server.core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services (AWS incl. ECS/EKS and IPv6, GCP, Azure, Alibaba, Oracle):
# never a target, whatever the settings say.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "100.100.100.200",
        "192.0.0.192",
    )
)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValidationFailed):
    code = "unsafe_url"

    def __init__(self, message: str):
        super().__init__(message, field="url")


@dataclass(frozen=True)
class TargetPolicy:
    """The relaxations for development and tests (TIMELEDGER_WEBHOOKS_ALLOW_HTTP / _PRIVATE)."""

    allow_http: bool = False
    allow_private: bool = False

    @classmethod
    def of(cls, settings: Settings) -> TargetPolicy:
        return cls(settings.webhooks_allow_http, settings.webhooks_allow_private)

    @property
    def relaxations(self) -> list[str]:
        """What this policy lets through that production must not, for the startup log."""
        named = {
            "plain http:// targets (TIMELEDGER_WEBHOOKS_ALLOW_HTTP=1)": self.allow_http,
            "private and loopback addresses (TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE=1)": (
                self.allow_private
            ),
        }
        return [text for text, on in named.items() if on]


def parse_target(url: str, policy: TargetPolicy) -> SplitResult:
    """The URL's parts, or UnsafeTarget saying what is wrong with its form."""
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise UnsafeTarget("url must not contain spaces or control characters")
    parts = urlsplit(url)
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme.lower() not in allowed:
        raise UnsafeTarget("url must start with https://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("url must not contain credentials")
    if parts.fragment:
        raise UnsafeTarget("url must not contain a #fragment")
    if not parts.hostname:
        raise UnsafeTarget("url must name a host")
    if not parts.hostname.isascii():
        raise UnsafeTarget("url host must be ASCII (use the xn-- form of the name)")
    try:
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise UnsafeTarget("url has an invalid port") from None
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


def check_url(url: str, policy: TargetPolicy) -> None:
    """For a subscription's URL: its form, and every address its host resolves to now."""
    parts = parse_target(url, policy)
    assert parts.hostname is not None
    vet(parts.hostname, resolve(parts.hostname, default_port(parts)), policy)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeTarget(f"url host {host} cannot be resolved") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def vet(host: str, addresses: Iterable[str], policy: TargetPolicy) -> None:
    """UnsafeTarget unless every address is allowed: one bad answer among good ones is
    still refused, since the connection might use it."""
    listed = list(addresses)
    if not listed:
        raise UnsafeTarget(f"url host {host} has no address")
    for raw in listed:
        reason = refusal(ipaddress.ip_address(raw), policy)
        if reason is not None:
            shown = host if host == raw else f"{host} resolves to {raw}, which"
            raise UnsafeTarget(f"url refused: {shown} is {reason}")


def refusal(address: IPAddress, policy: TargetPolicy) -> str | None:
    """Why this address may not receive webhooks, or None when it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = refusal(embedded, policy)
        if inner is not None:
            return inner
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if policy.allow_private:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.version == 6 and address in _UNIQUE_LOCAL:
        return "a unique-local address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), which is where
    a connection to it may really end up."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
