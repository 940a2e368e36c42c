"""The SSRF guard: a webhook URL is sent to only if every address its host resolves to is
public, and the request then goes to the checked address itself.

A user names the URL, so without the guard the notifier could be made to POST to its own
loopback, the VPC, or the instance metadata endpoint. The host is resolved at send time
(a name can change where it points after it was registered), every address must pass (a
name with one public and one private address could be answered either way), and the
request is pinned to the checked address so that no second lookup can answer differently
(DNS rebinding).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpx

from marketscope_notifier.errors import NotifierError
from marketscope_servicekit.errors import InvalidRequest

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
# host, port -> every address the host resolves to.
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})

_CGNAT = ip_network("100.64.0.0/10")
_RFC1918 = tuple(ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_UNIQUE_LOCAL = ip_network("fc00::/7")
_NAT64 = ip_network("64:ff9b::/96")
# Special-purpose ranges Python 3.11's ipaddress still calls global (or only private):
# none of them is a webhook receiver on the internet.
_RESERVED = tuple(
    ip_network(net)
    for net in (
        "0.0.0.0/8",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fec0::/10",
    )
)


class RefusalReason(StrEnum):
    SCHEME = "scheme"
    NO_HOST = "no-host"
    UNSPECIFIED = "unspecified"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    SHARED = "shared-address-space"
    UNIQUE_LOCAL = "unique-local"
    MULTICAST = "multicast"
    RESERVED = "reserved"
    NOT_GLOBAL = "not-global"


class TargetRefused(InvalidRequest, NotifierError):
    """The URL may not be sent to: a scheme other than http(s), no host, or an address
    that is not public. Never worth retrying."""

    def __init__(self, url: str, reason: RefusalReason, address: IPAddress | None = None) -> None:
        self.url = url
        self.reason = reason
        self.address = address
        where = ""
        if address is not None:
            embedded = embedded_ipv4(address)
            where = f"{address} " if embedded is None else f"{address} (that is {embedded}) "
        super().__init__(
            f"webhook target {url} refused: {where}{_describe(reason)}",
            extensions={
                "reason": reason.value,
                **({"address": str(address)} if address is not None else {}),
            },
        )


class HostNotResolved(InvalidRequest, NotifierError):
    """The host has no address right now (DNS can recover: a sender retries)."""

    def __init__(self, url: str, host: str, cause: str) -> None:
        self.url = url
        self.host = host
        super().__init__(f"webhook host {host} does not resolve: {cause}")


def _describe(reason: RefusalReason) -> str:
    match reason:
        case RefusalReason.SCHEME:
            return "only http and https are sent to"
        case RefusalReason.NO_HOST:
            return "the URL has no host"
        case _:
            return f"is a {reason.value} address, not a public one"


@dataclass(frozen=True)
class PinnedTarget:
    """A checked URL: where the request goes (``address``) and the name it is for."""

    url: httpx.URL
    address: IPAddress

    @property
    def host(self) -> str:
        return self.url.host

    @property
    def request_url(self) -> httpx.URL:
        """The URL with the checked address as its host: nothing is looked up again."""
        return self.url.copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        """The ``Host`` the receiver expects: the original name (and port, if not the
        scheme's default), never the address."""
        return self.url.netloc.decode("ascii")

    @property
    def extensions(self) -> dict[str, str]:
        """For https, the name TLS is to verify (the URL itself carries only the address)."""
        return {"sni_hostname": self.host} if self.url.scheme == "https" else {}


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    """Every address the system resolver gives ``host`` (v4 and v6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(info[4][0]) for info in infos]


async def resolve_public(
    url: str | httpx.URL,
    *,
    allow: Sequence[IPNetwork] = (),
    resolver: Resolver | None = None,
) -> PinnedTarget:
    """Check ``url`` and pin it to one of its host's addresses, all of which must be
    public or inside an ``allow``-ed network (loopback for tests and laptops).

    Raises `TargetRefused` (do not retry) or `HostNotResolved` (retry later).
    """
    try:
        parsed = httpx.URL(url)
        text = str(parsed)
        _ = parsed.host
    except (httpx.InvalidURL, ValueError) as exc:  # idna refuses the host name
        raise TargetRefused(str(url)[:200], RefusalReason.NO_HOST) from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise TargetRefused(text, RefusalReason.SCHEME)
    if not parsed.host:
        raise TargetRefused(text, RefusalReason.NO_HOST)
    addresses = await _addresses(parsed, resolver or system_resolver)
    for address in addresses:
        reason = refusal_reason(address, allow=allow)
        if reason is not None:
            raise TargetRefused(text, reason, address)
    return PinnedTarget(parsed, addresses[0])


async def _addresses(url: httpx.URL, resolver: Resolver) -> Sequence[IPAddress]:
    try:
        return [ip_address(url.host)]
    except ValueError:
        pass  # a name, not a literal address
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await resolver(url.host, port)
    except OSError as exc:  # socket.gaierror
        raise HostNotResolved(str(url), url.host, str(exc)) from exc
    if not addresses:
        raise HostNotResolved(str(url), url.host, "no addresses")
    return addresses


def refusal_reason(address: IPAddress, *, allow: Iterable[IPNetwork] = ()) -> RefusalReason | None:
    """Why ``address`` may not be sent to, or None when it is public (or allowed).

    An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) reaches
    that IPv4 address, so it is judged as that address.
    """
    embedded = embedded_ipv4(address)
    judged = embedded if embedded is not None else address
    if any(address in network or judged in network for network in allow):
        return None
    return _classify(judged)


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, if it stands for one."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated); :: and ::1 are themselves.
    if int(address) >> 32 == 0 and int(address) > 1:
        return IPv4Address(int(address))
    return None


def _classify(address: IPAddress) -> RefusalReason | None:
    # The most specific reason first: fc00::/7 is also "private" to ipaddress.
    if address.is_unspecified:
        return RefusalReason.UNSPECIFIED
    if address.is_loopback:
        return RefusalReason.LOOPBACK
    if address.is_link_local:
        return RefusalReason.LINK_LOCAL
    if address in _CGNAT:
        return RefusalReason.SHARED
    if address in _UNIQUE_LOCAL:
        return RefusalReason.UNIQUE_LOCAL
    if address.is_multicast:
        return RefusalReason.MULTICAST
    if any(address in network for network in _RFC1918):
        return RefusalReason.PRIVATE
    if address.is_reserved or any(address in network for network in _RESERVED):
        return RefusalReason.RESERVED
    if not address.is_global:
        return RefusalReason.NOT_GLOBAL
    return None
