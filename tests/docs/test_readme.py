"""The README's two set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.DOTALL)


def test_exactly_two_setup_commands_start_and_test() -> None:
    start, test = setup_commands()
    assert "\n" not in start
    assert "\n" not in test
    assert start.endswith("marketscope up")
    assert test.endswith("pytest -n auto")
    for command in (start, test):
        assert command.startswith("python -m pip install uv && ")


def test_ci_runs_the_readme_test_command() -> None:
    _, test = setup_commands()
    script = (ROOT / ".ci" / "run").read_text()
    assert test in script.splitlines()
    assert "set -euo pipefail" in script


def test_up_command_names_the_cli_entry_point() -> None:
    start, _ = setup_commands()
    pyproject = (ROOT / "cli" / "pyproject.toml").read_text()
    assert 'marketscope = "marketscope_cli.app:main"' in pyproject
    assert "--all-packages --frozen" in start
