"""The README's code sample runs (against the session's emulator instead of port 4566)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marketscope_infra.apply import StepResult

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_sample_applies_the_spec(
    aws_endpoint: str, first_run: list[StepResult], capsys: pytest.CaptureFixture[str]
) -> None:
    [sample] = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    exec(sample.replace("http://127.0.0.1:4566", aws_endpoint), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(first_run)
    assert lines[-1].startswith(f"[{len(first_run)}/{len(first_run)}] exists  ")
