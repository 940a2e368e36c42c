"""Browser tests of the web app against the running stack (`tests/stack.py`, shared with
the other cross-service tests): Chromium is Debian's (``apt-get install -y chromium``);
where it is missing, every browser test is skipped with that command as the reason."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from ..stack import Stack
from .browser import DESKTOP, INSTALL_COMMAND, RECORD_CSP_VIOLATIONS, WebApp, chromium_executable


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $MARKETSCOPE_TEST_ARTIFACTS, or the session's temporary
    directory (`artifacts/web`)."""
    configured = os.environ.get("MARKETSCOPE_TEST_ARTIFACTS")
    return Path(configured) if configured else tmp_path_factory.getbasetemp() / "artifacts" / "web"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip(f"Chromium is not installed: {INSTALL_COMMAND} (Debian), as .ci/run does")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def web(browser: Browser, stack: Stack, artifacts: Path) -> AsyncIterator[WebApp]:
    """A fresh browser context on the stack's gateway; at the end, the page raised no
    error and the Content-Security-Policy refused nothing."""
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    await context.add_init_script(RECORD_CSP_VIOLATIONS)
    context.set_default_timeout(20_000)
    app = WebApp(await context.new_page(), str(stack.client.base_url).rstrip("/"), artifacts)
    try:
        yield app
        assert app.errors == []
        assert await app.csp_violations() == []
    finally:
        await context.close()
