"""What the benchmark's servers run with: every service on its default settings, but for
the few variables below, each with the reason the run needs it. The list goes into the
results as it is, so a figure can be read knowing exactly what differed from a default.

None of them turns a feature of the request path off: authentication, both rate limits,
request metrics and tracing run as they do by default. The limits' thresholds are raised
because one load client, as one user on one address, sends thousands of requests a
minute; the limiter still counts every request, and its cost does not depend on the
threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from marketscope_servicekit.internal_key import ENV_VARIABLE

SETTINGS = "service defaults"


@dataclass(frozen=True)
class Setting:
    """One environment variable given to ``services`` and why."""

    services: tuple[str, ...]
    name: str
    value: str
    why: str


def settings(*, aws_endpoint: str, market_data_url: str, clients: int) -> list[Setting]:
    gateway, market_data, both = ("gateway",), ("market-data",), ("gateway", "market-data")
    return [
        Setting(both, "AWS_ENDPOINT_URL", aws_endpoint, "the run's own emulator"),
        Setting(both, "AWS_DEFAULT_REGION", "us-east-1", "the region it was provisioned in"),
        Setting(
            both,
            ENV_VARIABLE,
            "<random, 48 bytes>",
            "a fresh key per run, as `marketscope up` hands out; the direct market-data "
            "leg signs its identities with it",
        ),
        Setting(gateway, "MARKETSCOPE_GATEWAY_MARKET_DATA_URL", market_data_url, "the run's port"),
        Setting(
            gateway,
            "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_USER",
            "100000000/minute",
            "all load is one user's: the default 300/minute would refuse the run after "
            "300 requests; every request is still counted",
        ),
        Setting(
            gateway,
            "MARKETSCOPE_GATEWAY_RATE_LIMIT_PER_IP",
            "100000000/minute",
            "all load comes from 127.0.0.1: the default 600/minute would refuse it; every "
            "request is still counted",
        ),
        Setting(
            gateway,
            "MARKETSCOPE_GATEWAY_WS_MAX_CONNECTIONS_PER_USER",
            str(max(clients, 10)),
            "the WebSocket phase's sockets are one user's: the default allows 10",
        ),
        Setting(
            market_data,
            "MARKETSCOPE_MARKET_DATA_LIVE_REFRESH",
            "false",
            "off on AWS, on by default only next to an emulator: it would move the quote "
            "every 5 s and push its own QuoteUpdated to the WebSocket clients mid-run",
        ),
        Setting(
            market_data,
            "MARKETSCOPE_MARKET_DATA_EMBEDDED_SCHEDULER",
            "false",
            "off on AWS (the rule fires itself there), on by default next to an emulator",
        ),
    ]


def environment(items: list[Setting], service: str, internal_key: str) -> dict[str, str]:
    """The variables ``service`` gets (the key's real value in place of its placeholder)."""
    return {
        item.name: internal_key if item.name == ENV_VARIABLE else item.value
        for item in items
        if service in item.services
    }


def described(items: list[Setting]) -> list[dict[str, object]]:
    return [{**asdict(item), "services": list(item.services)} for item in items]
