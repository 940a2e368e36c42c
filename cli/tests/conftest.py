from __future__ import annotations

import pytest


@pytest.fixture
def cli_env(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command talks to the session's AWS backend, its tables 200 columns wide."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("COLUMNS", "200")
