"""notifier's HTTP API as the gateway calls it: the caller's price alerts, inbox and
delivery channels.

Every call is plain (`ServiceClient.send`): notifier scopes alerts and notifications to
the signed identity, so another user's alert or notification is its 404. Bodies go as the
client sent them: notifier checks conditions, frequencies and expiries itself.
"""

from __future__ import annotations

import httpx

from marketscope_gateway.downstream.base import ServiceClient
from marketscope_servicekit import Identity
from marketscope_servicekit.calls import Params, segment

SERVICE = "notifier"
JSON_BODY = {"Content-Type": "application/json"}


class NotifierClient(ServiceClient):
    def __init__(self, client: httpx.AsyncClient, internal_key: str) -> None:
        super().__init__(SERVICE, client, internal_key)

    async def create_alert(self, identity: Identity, body: bytes) -> httpx.Response:
        return await self.send("POST", "/alerts", identity, content=body, headers=JSON_BODY)

    async def alerts(self, identity: Identity, params: Params) -> httpx.Response:
        return await self.send("GET", "/alerts", identity, params=params)

    async def alert(self, identity: Identity, alert_id: str) -> httpx.Response:
        return await self.send("GET", _alert(alert_id), identity)

    async def change_alert(self, identity: Identity, alert_id: str, body: bytes) -> httpx.Response:
        return await self.send("PATCH", _alert(alert_id), identity, content=body, headers=JSON_BODY)

    async def pause_alert(self, identity: Identity, alert_id: str) -> httpx.Response:
        return await self.send("POST", f"{_alert(alert_id)}/pause", identity)

    async def resume_alert(self, identity: Identity, alert_id: str) -> httpx.Response:
        return await self.send("POST", f"{_alert(alert_id)}/resume", identity)

    async def delete_alert(self, identity: Identity, alert_id: str) -> httpx.Response:
        return await self.send("DELETE", _alert(alert_id), identity)

    async def notifications(self, identity: Identity, params: Params) -> httpx.Response:
        return await self.send("GET", "/notifications", identity, params=params)

    async def unread_count(self, identity: Identity) -> httpx.Response:
        return await self.send("GET", "/notifications/unread-count", identity)

    async def mark_read(self, identity: Identity, notification_id: str) -> httpx.Response:
        path = f"/notifications/{segment(notification_id)}/read"
        return await self.send("POST", path, identity)

    async def mark_all_read(self, identity: Identity) -> httpx.Response:
        return await self.send("POST", "/notifications/read-all", identity)

    async def channels(
        self,
        identity: Identity,
        method: str,
        *segments: str,
        body: bytes | None = None,
        params: Params | None = None,
    ) -> httpx.Response:
        """A call on ``/notification-channels[/<segment>...]`` (each segment escaped)."""
        path = "/".join(("/notification-channels", *(segment(part) for part in segments)))
        headers = JSON_BODY if body is not None else None
        return await self.send(method, path, identity, content=body, headers=headers, params=params)


def _alert(alert_id: str) -> str:
    return f"/alerts/{segment(alert_id)}"
