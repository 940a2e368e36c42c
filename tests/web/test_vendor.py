"""The vendored third-party files are exactly what web/vendor/manifest.json pins (checked
offline by the refresh script itself, which works on the folder it lies in), with the
licences and the chart library's attribution beside them; a file changed by hand is
caught."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "web" / "vendor"


def check(vendor: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(vendor / "refresh.py"), "--check"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_vendored_files_match_their_pins() -> None:
    result = check(VENDOR)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    pinned = {package["name"]: package for package in manifest["packages"]}
    assert pinned["lightweight-charts"]["version"].startswith("5.")
    assert {"marked", "dompurify", "axe-core"} <= set(pinned)
    for package in pinned.values():
        targets = [entry["target"] for entry in package["files"]]
        assert any("LICENSE" in target for target in targets), package["name"]
    assert "TradingView" in (VENDOR / "lightweight-charts" / "NOTICE").read_text()


def test_a_file_changed_by_hand_fails_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    marked = copy / "marked" / "marked.esm.js"
    marked.write_text(marked.read_text() + "\n// changed\n")
    result = check(copy)
    assert result.returncode != 0
    assert "marked/marked.esm.js" in result.stdout + result.stderr
