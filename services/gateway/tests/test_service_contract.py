"""The gateway service held to the contract every service keeps: its layout, health,
readiness, 503 before start-up, settings and their documentation."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from marketscope_emulator.process import free_port
from marketscope_gateway.main import create_app
from marketscope_gateway.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_platform.topology import SERVICES
from marketscope_servicekit.testing import ServiceContract


class TestGatewayService(ServiceContract):
    service = SERVICES["gateway"]
    settings_class = Settings
    create_app = staticmethod(create_app)
    readiness_checks = ("table", "queue", "signing-key", "market-data", "rag", "chat")
    readme = Path(__file__).resolve().parents[1] / "README.md"
    # Its bearer-token check reads the token codec through the components: 503 first.
    probe_path = "/api/v1/quotes/AAPL"
    signed_identity = False

    def make_app(self, aws: AwsSettings, **settings: object) -> FastAPI:
        # Free ports, not the services' own: one of them may be running on this machine.
        nowhere = {
            "market_data_url": f"http://127.0.0.1:{free_port()}",
            "rag_url": f"http://127.0.0.1:{free_port()}",
            "chat_url": f"http://127.0.0.1:{free_port()}",
        }
        return create_app(Settings(**nowhere, **settings), aws)  # type: ignore[arg-type]


def test_own_defaults() -> None:
    settings = Settings()
    assert settings.chat_url == "http://127.0.0.1:8001"
    assert settings.chat_idle_timeout == 300.0
    assert settings.market_data_url == "http://127.0.0.1:8002"
    assert settings.notifier_url == "http://127.0.0.1:8004"
    assert settings.access_token_minutes == 15
    assert settings.jwt_signing_key is None
