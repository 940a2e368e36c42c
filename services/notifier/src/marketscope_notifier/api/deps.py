"""What the routes share: the built components and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from marketscope_notifier.alerts.service import AlertService
from marketscope_notifier.components import Components
from marketscope_notifier.inbox.repository import InboxRepository
from marketscope_servicekit import Identity, components_of, current_identity


async def alert_service(request: Request) -> AlertService:
    return components_of(request, Components).alerts


async def inbox(request: Request) -> InboxRepository:
    return components_of(request, Components).inbox


Alerts = Annotated[AlertService, Depends(alert_service)]
Inbox = Annotated[InboxRepository, Depends(inbox)]
Caller = Annotated[Identity, Depends(current_identity)]
