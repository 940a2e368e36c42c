"""ruff and mypy strict are part of the test run, so CI holds the tree to them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TYPED_PACKAGES = [
    "libs/events/src",
    "libs/emulator/src",
    "libs/platform/src",
    "libs/servicekit/src",
    "infra/localstack/src",
    "cli/src",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "services").glob("*/src"))),
]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("arguments", [("check", "."), ("format", "--check", ".")])
def test_ruff(arguments: tuple[str, ...]) -> None:
    result = run(str(BIN / "ruff"), *arguments)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", TYPED_PACKAGES)
def test_mypy_strict(package: str) -> None:
    result = run(str(BIN / "mypy"), package)
    assert result.returncode == 0, result.stdout + result.stderr
