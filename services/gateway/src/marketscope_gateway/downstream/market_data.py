"""market-data's HTTP API as the gateway calls it."""

from __future__ import annotations

from typing import Any

import httpx

from marketscope_gateway.downstream.base import ServiceClient
from marketscope_servicekit import Identity
from marketscope_servicekit.calls import Params, segment

SERVICE = "market-data"


class MarketDataClient(ServiceClient):
    def __init__(self, client: httpx.AsyncClient, internal_key: str) -> None:
        super().__init__(SERVICE, client, internal_key)

    async def quote(self, identity: Identity, symbol: str) -> httpx.Response:
        return await self.send("GET", f"/quotes/{segment(symbol)}", identity)

    async def quotes(self, identity: Identity, symbols: str) -> httpx.Response:
        return await self.send("GET", "/quotes", identity, params={"symbols": symbols})

    async def history(self, identity: Identity, symbol: str, params: Params) -> httpx.Response:
        return await self.send("GET", f"/history/{segment(symbol)}", identity, params=params)

    async def indicators(
        self, identity: Identity, symbol: str, names: str | None
    ) -> httpx.Response:
        return await self.send(
            "GET", f"/indicators/{segment(symbol)}", identity, params={"names": names}
        )

    async def risk(self, identity: Identity, params: Params) -> httpx.Response:
        return await self.send("GET", "/risk", identity, params=params)

    async def profile(self, identity: Identity, symbol: str) -> httpx.Response:
        return await self.send("GET", f"/profile/{segment(symbol)}", identity)

    async def watchlist(self, identity: Identity) -> httpx.Response:
        return await self.send("GET", f"/watchlists/{segment(identity.user_id)}", identity)

    async def save_watchlist(self, identity: Identity, body: dict[str, Any]) -> httpx.Response:
        return await self.send(
            "PUT", f"/watchlists/{segment(identity.user_id)}", identity, json=body
        )
