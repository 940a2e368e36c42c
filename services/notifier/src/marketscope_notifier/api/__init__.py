"""HTTP layer of the notifier service: thin routes over the alert and inbox services, all
under the gateway-signed identity (servicekit's `current_identity`)."""

from __future__ import annotations

from fastapi import APIRouter

from marketscope_notifier.api.alerts import router as alerts
from marketscope_notifier.api.channels import router as channels
from marketscope_notifier.api.notifications import router as notifications

router = APIRouter()
router.include_router(alerts)
router.include_router(notifications)
router.include_router(channels)
