"""User B against user A's private WebSocket channels: B cannot name a channel of A's,
and B's socket, subscribed to every owned channel, never receives an event of A's, while
A's socket receives each of them and B's own arrive on B's."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from starlette.routing import WebSocketRoute

from marketscope_events import CATALOG
from marketscope_events.catalog import AnalysisCompleted, AnalysisFailed, NotificationCreated
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_gateway.live.protocol import OWNED_CHANNELS
from marketscope_gateway.main import create_app
from marketscope_platform import AwsClients

from ..live import socket
from ..stack import Account, Stack, in_stack_loop

pytestmark = pytest.mark.integration

QUIET_SECONDS = 1.5
WEBSOCKET_ROUTES = {"/ws"}


# How an event owned by a user reaches each owned channel, the way its producer makes it.
# Returns the id in the event's data that tells it apart.
Producer = Callable[[Stack, AwsClients, Account], Awaitable[str]]


async def _publish(aws: AwsClients, data: Any, subject: str) -> None:
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    await SnsPublisher(await aws.client("sns"), topics).publish(
        CATALOG.new_event(data, subject=subject)
    )


async def document_indexed(stack: Stack, aws: AwsClients, owner: Account) -> str:
    """Through the real rag: an upload, indexed, publishes DocumentIndexed."""
    marker = secrets.token_hex(8)
    document = await stack.api.upload(
        owner, f"live-{marker}.md", f"# Live\n\nIndexed for the socket: {marker}.\n", marker
    )
    return document.document_id


async def notification_created(stack: Stack, aws: AwsClients, owner: Account) -> str:
    notification_id = secrets.token_hex(16)
    data = NotificationCreated(
        notification_id=notification_id,
        owner=owner.user_id,
        kind="alert",
        title=f"Private alert {notification_id}",
        body="AAPL crossed 200",
        created_at=datetime.now(UTC),
    )
    await _publish(aws, data, f"Notification#{notification_id}")
    return notification_id


async def analysis_completed(stack: Stack, aws: AwsClients, owner: Account) -> str:
    analysis_id = secrets.token_hex(16)
    data = AnalysisCompleted(
        analysis_id=analysis_id,
        owner=owner.user_id,
        symbols=["AAPL"],
        summary=f"Private summary {analysis_id}",
        model="offline",
        tool_calls=2,
        prompt_tokens=10,
        completion_tokens=20,
        completed_at=datetime.now(UTC),
    )
    await _publish(aws, data, f"Analysis#{analysis_id}")
    return analysis_id


async def analysis_failed(stack: Stack, aws: AwsClients, owner: Account) -> str:
    analysis_id = secrets.token_hex(16)
    data = AnalysisFailed(
        analysis_id=analysis_id,
        owner=owner.user_id,
        reason=f"Private failure {analysis_id}",
        retryable=False,
        failed_at=datetime.now(UTC),
    )
    await _publish(aws, data, f"Analysis#{analysis_id}")
    return analysis_id


CHANNEL_EVENTS: dict[str, tuple[Producer, ...]] = {
    "documents": (document_indexed,),
    "notifications": (notification_created,),
    "analyses": (analysis_completed, analysis_failed),
}


def test_every_websocket_route_and_owned_channel_has_an_owner_case() -> None:
    routes = {route.path for route in create_app().routes if isinstance(route, WebSocketRoute)}
    missing = [f"route WEBSOCKET {path}" for path in sorted(routes - WEBSOCKET_ROUTES)]
    missing += [f"channel {name}" for name in sorted(OWNED_CHANNELS - set(CHANNEL_EVENTS))]
    assert not missing, "\n".join(
        f"{item} has no owner case in tests/security: add one" for item in missing
    )
    assert set(CHANNEL_EVENTS) <= OWNED_CHANNELS, "a channel here is no longer owned"


@in_stack_loop
async def test_b_cannot_subscribe_to_a_channel_of_a(stack: Stack) -> None:
    a = stack.a
    async with socket(stack, stack.b) as b:
        for channel in sorted(OWNED_CHANNELS):
            for named in (a.user_id, a.email):
                for spelling in (f"{channel}:{named}", f"{channel}#{named}", f"{channel}/{named}"):
                    reply = await b.request(
                        {"type": "subscribe", "channel": spelling, "id": secrets.token_hex(4)}
                    )
                    assert reply["type"] == "error", f"B subscribed to {spelling}: {reply}"
                    assert reply["code"] == "invalid_message", reply


@in_stack_loop
async def test_b_never_receives_a_private_events(stack: Stack) -> None:
    a, b = stack.a, stack.b
    async with (
        AwsClients(stack.aws_settings) as aws,
        socket(stack, a) as a_socket,
        socket(stack, b) as b_socket,
    ):
        for channel in sorted(CHANNEL_EVENTS):
            for opened in (a_socket, b_socket):
                reply = await opened.request(
                    {"type": "subscribe", "channel": channel, "id": channel}
                )
                assert reply["type"] == "subscribed", reply
        a_ids: set[str] = set()
        for channel, producers in CHANNEL_EVENTS.items():
            for produce in producers:
                a_id, b_id = await produce(stack, aws, a), await produce(stack, aws, b)
                a_ids.add(a_id)
                await a_socket.wait_for(partial(_is_event, channel=channel, identifier=a_id))
                # B's socket is live on this channel: its own event arrives.
                await b_socket.wait_for(partial(_is_event, channel=channel, identifier=b_id))
        await asyncio.sleep(QUIET_SECONDS)  # what might still be on its way to B
    frames = json.dumps(b_socket.frames)
    leaked = sorted(value for value in a_ids | stack.a_owns.secrets(a) if value in frames)
    assert not leaked, f"B's socket received A's {leaked}: {frames[:1000]}"
    assert all(f["data"].get("owner") == b.user_id for f in b_socket.frames if f["type"] == "event")


def _is_event(frame: dict[str, Any], *, channel: str, identifier: str) -> bool:
    return (
        frame["type"] == "event"
        and frame["channel"] == channel
        and identifier in json.dumps(frame["data"])
    )
