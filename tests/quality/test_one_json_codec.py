"""One JSON codec: the standard library's ``json`` wherever code encodes or decodes JSON
by hand, pydantic for models, FastAPI's ``JSONResponse`` (``json`` again) for answers.
No second JSON library, and no response class built on one, in any package's source
(docs/architecture.md says why: the hot paths relay bytes they never decode)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OTHER_CODECS = frozenset({"orjson", "ujson", "simplejson", "rapidjson", "msgspec", "yyjson"})
OTHER_RESPONSES = frozenset({"ORJSONResponse", "UJSONResponse"})


def sources() -> list[Path]:
    trees = [*ROOT.glob("services/*/src"), *ROOT.glob("libs/*/src"), *ROOT.glob("infra/*/src")]
    trees += [ROOT / "cli" / "src"]
    return sorted(path for tree in trees for path in tree.rglob("*.py"))


def imported(path: Path) -> tuple[set[str], set[str]]:
    """The top-level modules ``path`` imports, and the names it imports from modules."""
    modules: set[str] = set()
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
            names.update(alias.name for alias in node.names)
    return modules, names


def test_no_source_uses_a_second_json_codec() -> None:
    files = sources()
    offenders: dict[str, set[str]] = {}
    using_json = 0
    for path in files:
        modules, names = imported(path)
        using_json += "json" in modules
        found = (modules & OTHER_CODECS) | (names & OTHER_RESPONSES)
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
    # The walk saw the tree: the platform's own JSON goes through json in many places.
    assert len(files) > 200, len(files)
    assert using_json > 20, using_json
