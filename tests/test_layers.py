"""Imports point down: the bottom imports nothing of ours above it, `lake` and `telegram`
only the bottom, and the stages (`ingest`, `etl`, `analytics`) never import each other.

The rule is the README's "Code layout"; this reads every module's imports,
function-level ones too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import telelake

PACKAGE = Path(telelake.__file__).parent
BOTTOM = {"errors", "config", "redaction"}
MAY_IMPORT = {
    **{name: BOTTOM for name in BOTTOM},
    "lake": BOTTOM,
    "telegram": BOTTOM,
    "ingest": BOTTOM | {"lake", "telegram"},
    "etl": BOTTOM | {"lake", "telegram"},
    "analytics": BOTTOM | {"lake", "telegram"},
}


def _part(module: str) -> str:
    """``telelake.lake.tables`` -> ``lake``; ``telelake.errors`` -> ``errors``."""
    return module.split(".")[1]


def imports() -> list[tuple[str, str, str]]:
    """(file, the part it belongs to, the part of ours it imports), for every import."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("telelake."):
                    found.append((relative.as_posix(), part, _part(name)))
    return found


def test_imports_point_down_and_stages_never_import_each_other() -> None:
    every = imports()
    assert len(every) > 300, "the walk found the package's imports"
    wrong = [
        f"{path} ({part}) imports telelake.{target}"
        for path, part, target in every
        if part in MAY_IMPORT and target != part and target not in MAY_IMPORT[part]
    ]
    assert wrong == []


def test_the_rule_would_catch_a_stage_importing_another() -> None:
    # The same check on one made-up line, so the test above cannot pass by reading nothing.
    tree = ast.parse("from telelake.etl.text.resources import plain")
    node = tree.body[0]
    assert isinstance(node, ast.ImportFrom) and node.module is not None
    assert _part(node.module) not in MAY_IMPORT["analytics"]
