"""What the routes share: the built components and the caller (an admin among callers is
remembered, for ops notifications)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from marketscope_notifier.alerts.service import AlertService
from marketscope_notifier.channels.delivery import Deliveries
from marketscope_notifier.channels.service import ChannelService
from marketscope_notifier.components import Components
from marketscope_notifier.inbox.repository import InboxRepository
from marketscope_servicekit import Identity, components_of, current_identity


async def alert_service(request: Request) -> AlertService:
    return components_of(request, Components).alerts


async def inbox(request: Request) -> InboxRepository:
    return components_of(request, Components).inbox


async def channel_service(request: Request) -> ChannelService:
    return components_of(request, Components).channels


async def deliveries(request: Request) -> Deliveries:
    return components_of(request, Components).deliveries


async def caller(
    request: Request, identity: Annotated[Identity, Depends(current_identity)]
) -> Identity:
    await components_of(request, Components).operators.note(identity)
    return identity


Alerts = Annotated[AlertService, Depends(alert_service)]
Inbox = Annotated[InboxRepository, Depends(inbox)]
Channels = Annotated[ChannelService, Depends(channel_service)]
DeliveriesDep = Annotated[Deliveries, Depends(deliveries)]
Caller = Annotated[Identity, Depends(caller)]
