"""pytest plugin: every test session signs identities with an internal key generated for
it (``MARKETSCOPE_INTERNAL_KEY``), never the published development key. A part that
fell back to the development key while the others use the configured one (a fake
service, a client that signs) then fails its tests, and the services start against any
test backend, loopback or not."""

from __future__ import annotations

import os

import pytest

from marketscope_servicekit.internal_key import ENV_VARIABLE, generate_internal_key


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported: apps built at import time read it too.
    os.environ[ENV_VARIABLE] = generate_internal_key()


@pytest.fixture(scope="session")
def internal_key() -> str:
    """The key this session's services verify identities with."""
    return os.environ[ENV_VARIABLE]
