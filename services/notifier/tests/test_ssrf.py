"""The SSRF guard: what a webhook may not be sent to, and that a checked request goes to
the checked address under its original name (over TLS too)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path

import httpx
import pytest
import trustme
import uvicorn
from fastapi import FastAPI, Request, Response

from marketscope_notifier.channels import (
    DeliveryOutcome,
    HostNotResolved,
    RefusalReason,
    TargetRefused,
    WebhookSender,
    new_client,
    new_secret,
    resolve_public,
)
from marketscope_notifier.channels.ssrf import IPAddress, Resolver, refusal_reason
from marketscope_servicekit.testing import free_port, served

LOOPBACK = (ip_network("127.0.0.0/8"),)
HOOK_HOST = "hooks.marketscope.test"


def resolving(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return [ip_address(address) for address in addresses]

    return resolve


@pytest.mark.parametrize(
    ("url", "address", "reason"),
    [
        ("http://127.0.0.1/hook", "127.0.0.1", RefusalReason.LOOPBACK),
        ("http://10.0.0.5/hook", "10.0.0.5", RefusalReason.PRIVATE),
        ("http://172.16.3.4/hook", "172.16.3.4", RefusalReason.PRIVATE),
        ("http://192.168.1.1/hook", "192.168.1.1", RefusalReason.PRIVATE),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", RefusalReason.LINK_LOCAL),
        ("http://[::1]/hook", "::1", RefusalReason.LOOPBACK),
        ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1", RefusalReason.LOOPBACK),
        ("http://[::127.0.0.1]/hook", "::127.0.0.1", RefusalReason.LOOPBACK),
        ("http://100.64.1.1/hook", "100.64.1.1", RefusalReason.SHARED),
        ("http://[fd00::1]/hook", "fd00::1", RefusalReason.UNIQUE_LOCAL),
        ("http://[fe80::1]/hook", "fe80::1", RefusalReason.LINK_LOCAL),
        ("http://[64:ff9b::a00:5]/hook", "64:ff9b::a00:5", RefusalReason.PRIVATE),
        ("http://[2002:7f00:1::]/hook", "2002:7f00:1::", RefusalReason.LOOPBACK),
        ("http://0.0.0.0/hook", "0.0.0.0", RefusalReason.UNSPECIFIED),
        ("http://[::]/hook", "::", RefusalReason.UNSPECIFIED),
        ("http://224.0.0.1/hook", "224.0.0.1", RefusalReason.MULTICAST),
        ("http://240.0.0.1/hook", "240.0.0.1", RefusalReason.RESERVED),
        ("http://192.0.0.8/hook", "192.0.0.8", RefusalReason.RESERVED),
    ],
)
async def test_non_public_literal_addresses_are_refused(
    url: str, address: str, reason: RefusalReason
) -> None:
    with pytest.raises(TargetRefused) as refused:
        await resolve_public(url)
    assert (refused.value.reason, refused.value.address) == (reason, ip_address(address))
    shown = str(ip_address(address))  # ::ffff:127.0.0.1 is shown as ::ffff:7f00:1
    assert shown in str(refused.value)
    assert refused.value.extensions == {"reason": reason.value, "address": shown}


async def test_localhost_is_refused_as_loopback() -> None:
    with pytest.raises(TargetRefused) as refused:
        await resolve_public("http://localhost:8080/hook")  # the system resolver
    assert refused.value.reason is RefusalReason.LOOPBACK


async def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    resolver = resolving("93.184.215.14", "10.0.0.5")
    with pytest.raises(TargetRefused) as refused:
        await resolve_public(f"https://{HOOK_HOST}/hook", resolver=resolver)
    assert (refused.value.reason, refused.value.address) == (
        RefusalReason.PRIVATE,
        IPv4Address("10.0.0.5"),
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", RefusalReason.SCHEME),
        ("file:///etc/passwd", RefusalReason.SCHEME),
        ("http:///hook", RefusalReason.NO_HOST),
        ("/hook", RefusalReason.SCHEME),
    ],
)
async def test_bad_urls_are_refused(url: str, reason: RefusalReason) -> None:
    with pytest.raises(TargetRefused) as refused:
        await resolve_public(url)
    assert (refused.value.reason, refused.value.address) == (reason, None)


async def test_a_host_without_addresses_is_not_resolved() -> None:
    async def failing(host: str, port: int) -> Sequence[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(HostNotResolved):
        await resolve_public(f"https://{HOOK_HOST}/hook", resolver=failing)
    with pytest.raises(HostNotResolved):
        await resolve_public(f"https://{HOOK_HOST}/hook", resolver=resolving())


async def test_a_public_address_passes_and_is_pinned() -> None:
    pinned = await resolve_public("https://93.184.215.14/hook")
    assert pinned.address == IPv4Address("93.184.215.14")

    resolver = resolving("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    pinned = await resolve_public(f"https://{HOOK_HOST}:8443/hook?x=1", resolver=resolver)
    assert str(pinned.request_url) == "https://93.184.215.14:8443/hook?x=1"
    assert pinned.host_header == f"{HOOK_HOST}:8443"
    assert pinned.extensions == {"sni_hostname": HOOK_HOST}

    v6 = await resolve_public("http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook")
    assert v6.address == IPv6Address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert v6.extensions == {}


def test_the_allow_list_admits_its_networks_only() -> None:
    assert refusal_reason(ip_address("127.0.0.1"), allow=LOOPBACK) is None
    assert refusal_reason(ip_address("::ffff:127.0.0.1"), allow=LOOPBACK) is None
    assert refusal_reason(ip_address("10.0.0.5"), allow=LOOPBACK) is RefusalReason.PRIVATE
    assert refusal_reason(ip_address("8.8.8.8")) is None
    assert refusal_reason(ip_address("::ffff:8.8.8.8")) is None


def host_echo() -> tuple[FastAPI, list[str]]:
    seen: list[str] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        seen.append(request.headers["host"])
        return Response(status_code=204)

    return app, seen


async def test_an_allowed_request_goes_to_the_pinned_address_with_the_original_host() -> None:
    app, seen = host_echo()
    async with served(app) as base_url, new_client() as client:
        port = httpx.URL(base_url).port
        # The name resolves nowhere but through this resolver: the request can only have
        # reached the receiver at the checked address.
        sender = WebhookSender(client, allow=LOOPBACK, resolver=resolving("127.0.0.1"))
        url = f"http://{HOOK_HOST}:{port}/hook"
        attempt = await sender.send(url, [new_secret()], "m", b"{}", timestamp=datetime.now(UTC))
        literal = await WebhookSender(client, allow=LOOPBACK).send(
            f"{base_url}/hook", [new_secret()], "m", b"{}", timestamp=datetime.now(UTC)
        )
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.DELIVERED, 204)
    assert literal.outcome is DeliveryOutcome.DELIVERED
    assert seen == [f"{HOOK_HOST}:{port}", f"127.0.0.1:{port}"]


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_url(authority: trustme.CA, tmp_path: Path) -> AsyncIterator[str]:
    """The host-echo app over https with a certificate for HOOK_HOST only."""
    cert = authority.issue_cert(HOOK_HOST)
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    app, _ = host_echo()
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_keyfile=str(key_file),
        ssl_certfile=str(cert_file),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn stopped before it started serving"
            await asyncio.sleep(0.02)
        yield f"https://{HOOK_HOST}:{port}/hook"
    finally:
        server.should_exit = True
        await task


async def test_tls_verifies_the_original_name_at_the_pinned_address(
    authority: trustme.CA, tls_url: str
) -> None:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    other_name = tls_url.replace(HOOK_HOST, "elsewhere.marketscope.test")
    async with httpx.AsyncClient(verify=context, trust_env=False) as client:
        sender = WebhookSender(client, allow=LOOPBACK, resolver=resolving("127.0.0.1"))
        ok = await sender.send(tls_url, [new_secret()], "m", b"{}", timestamp=datetime.now(UTC))
        # Same address, a name the certificate does not carry: the handshake fails.
        wrong = await sender.send(
            other_name, [new_secret()], "m", b"{}", timestamp=datetime.now(UTC)
        )
    assert (ok.outcome, ok.status_code) == (DeliveryOutcome.DELIVERED, 204)
    assert (wrong.outcome, wrong.status_code) == (DeliveryOutcome.RETRY, None)
    assert wrong.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in wrong.error


async def test_a_refusal_names_the_ipv4_address_an_ipv6_one_stands_for() -> None:
    with pytest.raises(
        TargetRefused, match=r"::ffff:7f00:1 \(that is 127\.0\.0\.1\) is a loopback"
    ):
        await resolve_public("http://[::ffff:127.0.0.1]/hook")
