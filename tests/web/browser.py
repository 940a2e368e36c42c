"""The web app in Chromium, as the browser tests drive it: Debian's Chromium launched by
Playwright (``executable_path``: Playwright's own browser downloads are not used), one
context per test, and what a test needs besides clicking: the WebSocket frames the page
received, its uncaught errors and Content-Security-Policy violations, axe-core's
accessibility verdict, and screenshots at desktop and phone width."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page, WebSocket

from ..stack import PASSWORD

INSTALL_COMMAND = "apt-get install -y chromium"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SERIOUS = {"serious", "critical"}
AXE_URL = "/web/vendor/axe-core/axe.min.js"
# Seen by a listener the page cannot remove: init scripts run before its own.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.effectiveDirective}: ${event.blockedURI || 'inline'}`);
});
"""


def chromium_executable() -> str | None:
    """Debian's Chromium: $MARKETSCOPE_TEST_CHROMIUM, else on the PATH."""
    configured = os.environ.get("MARKETSCOPE_TEST_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class WebApp:
    """One browser page on the gateway's web app."""

    page: Page
    base_url: str
    artifacts: Path
    frames: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("websocket", self._record_frames)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _record_frames(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    def events(self, event: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "event" and f.get("event") == event]

    async def open(self, route: str = "/") -> None:
        await self.page.goto(f"{self.base_url}/#{route}")

    async def go(self, route: str) -> None:
        """Another page of the app, without reloading the document (tokens stay)."""
        await self.page.evaluate("(route) => { location.hash = route; }", route)

    async def sign_up(self, label: str) -> str:
        email = f"{label}-{uuid.uuid4().hex[:10]}@example.com"
        await self.open("/sign-up")
        await self.page.get_by_label("Email").fill(email)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_role("button", name="Create account").click()
        await self.page.get_by_role("heading", name="Dashboard", level=1).wait_for()
        return email

    async def csp_violations(self) -> list[str]:
        """What the Content-Security-Policy refused on this page, as `directive: URL`."""
        violations: list[str] = await self.page.evaluate("() => window.__cspViolations")
        return violations

    async def serious_accessibility_violations(self) -> list[str]:
        """axe-core's serious and critical findings on the page as it is now."""
        await self.page.add_script_tag(url=AXE_URL)
        result = await self.page.evaluate(
            "() => axe.run(document, { resultTypes: ['violations'] })"
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:3])
            for v in result["violations"]
            if v["impact"] in SERIOUS
        ]

    async def check_and_capture(self, name: str) -> None:
        """No serious accessibility violation; screenshots at desktop and phone width."""
        violations = await self.serious_accessibility_violations()
        assert not violations, f"{name}: " + "\n".join(violations)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=self.artifacts / f"{name}-desktop.png", full_page=True)
        await self.page.set_viewport_size(PHONE)
        # The chart follows its container through a ResizeObserver: let it lay out.
        await self.page.wait_for_timeout(300)
        await self.page.screenshot(path=self.artifacts / f"{name}-phone.png", full_page=True)
        await self.page.set_viewport_size(DESKTOP)
