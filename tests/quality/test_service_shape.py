"""Every service in the registry (and every folder under services/) is held to the
shared service contract, so a sixth service cannot skip the layout checks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from marketscope_platform.topology import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def contract_subclasses(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id == "ServiceContract" for base in node.bases)
    }


def test_every_service_folder_is_registered() -> None:
    folders = {path.name for path in (ROOT / "services").iterdir() if path.is_dir()}
    assert folders == set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_subclasses_the_service_contract(name: str) -> None:
    contract = ROOT / "services" / name / "tests" / "test_service_contract.py"
    assert contract.is_file(), f"{name} has no tests/test_service_contract.py"
    assert contract_subclasses(contract), f"{contract} does not subclass ServiceContract"
