"""The cross-service stack (`stack.py`), started once for the session by the first test
that asks for it (the authorization matrix, the chat contract through the gateway): it
loads rag's embedding model and indexes A's and B's documents, which is most of the cost."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from marketscope_platform.aws import AwsSettings

from .stack import Stack, running_stack


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(
    provisioned: str, aws_settings: AwsSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    # A key of this run, as `marketscope up` hands one to the services it starts.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MARKETSCOPE_INTERNAL_KEY", secrets.token_urlsafe(32))
        index_path = tmp_path_factory.mktemp("rag") / "chroma"
        async with running_stack(aws_settings, index_path) as running:
            yield running
