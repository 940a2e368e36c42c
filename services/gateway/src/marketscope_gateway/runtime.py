"""What the routes use, gathered on ``app.state.gateway``.

The token codec exists from the start (the edge middleware reads tokens); the rest needs
the app's AWS and HTTP clients, so the lifespan fills it in. A request arriving before
that is answered 503.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from starlette.requests import HTTPConnection

from marketscope_gateway.auth.service import AuthService
from marketscope_gateway.auth.signing_key import SigningKey
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.errors import GatewayError
from marketscope_gateway.live.hub import Hub
from marketscope_gateway.overview import OverviewComposer
from marketscope_gateway.settings import Settings


class NotStarted(GatewayError):
    status: ClassVar[int] = 503
    type: ClassVar[str] = "urn:marketscope:problem:not-started"

    def __init__(self) -> None:
        super().__init__("The gateway has not finished starting.", headers={"Retry-After": "1"})


@dataclass
class Started:
    auth: AuthService
    market_data: MarketDataClient
    rag: RagClient
    overview: OverviewComposer


@dataclass
class Gateway:
    settings: Settings
    signing_key: SigningKey
    tokens: TokenCodec
    hub: Hub = field(default_factory=Hub)
    started: Started | None = None

    @property
    def running(self) -> Started:
        if self.started is None:
            raise NotStarted()
        return self.started


def gateway_of(connection: HTTPConnection) -> Gateway:
    gateway: Gateway = connection.app.state.gateway
    return gateway
