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
# Routes are matched in order, twice per request (the router, then the tracing middleware
# naming its span), each try a regular expression: the most requested go first (quotes,
# overviews). Matching a quote took 134 us with market data third, 54 us first
# (bench/README.md, bench/gateway). No two routers' paths overlap, so the order decides
# nothing else: tests/test_routes.py holds every route to being reached by its own path.
router.include_router(market.router)
router.include_router(accounts.router)
router.include_router(api_keys.router)
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
