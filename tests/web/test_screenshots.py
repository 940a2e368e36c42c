"""The screenshots the README shows are files in docs/screenshots, of every page."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"dashboard", "symbol", "chat", "analysis", "alerts", "ops", "documents"}


def test_the_readme_shows_each_page_from_docs_screenshots() -> None:
    shown = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[^)]+)\)", (ROOT / "README.md").read_text())
    assert shown
    for path in shown:
        image = ROOT / path
        assert image.is_file(), path
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert {Path(path).stem.rsplit("-", 1)[0] for path in shown} >= PAGES
