"""HTTP and WebSocket layer of the gateway: thin routes over the auth service, the
downstream clients, the overview composer, the live hub and the ops views."""

from __future__ import annotations

from fastapi import APIRouter

from marketscope_gateway.api import (
    accounts,
    alerts,
    analyses,
    api_keys,
    channels,
    chat,
    documents,
    live,
    market,
    notifications,
    ops,
)

router = APIRouter()
router.include_router(accounts.router)
router.include_router(api_keys.router)
router.include_router(market.router)
router.include_router(documents.router)
router.include_router(chat.router)
router.include_router(chat.openai_router)
router.include_router(analyses.router)
router.include_router(alerts.router)
router.include_router(notifications.router)
router.include_router(channels.router)
router.include_router(live.router)
router.include_router(ops.router)

__all__ = ["router"]
