"""HTTP layer of the market-data service.

Health endpoints and problem+json errors come from ``marketscope_servicekit``; the
service's own routes join this router as its features land.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["market-data"])
