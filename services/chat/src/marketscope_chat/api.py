"""HTTP layer of the chat service.

Health endpoints and problem+json errors come from ``marketscope_servicekit``; the
service's own routes join this router as its features land, reaching the components
through a dependency on `marketscope_servicekit.components_of`.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["chat"])
