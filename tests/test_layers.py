"""The house's floors: ressenti/ (the contract) at the bottom, kiosk/ and collector/ beside
each other on it, cli/ and demo/ on top. An import that goes down is fine; one that goes up
or sideways between kiosk/ and collector/ fails here, with the file and line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Which top-level packages each package may import (besides itself and third-party ones).
ALLOWED = {
    "ressenti": set(),
    "kiosk": {"ressenti"},
    "collector": {"ressenti"},
    "demo": {"ressenti", "kiosk", "collector"},
    "cli": {"ressenti", "kiosk", "collector", "demo"},
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a module, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_floors_below_it(package: str) -> None:
    forbidden = set(ALLOWED) - ALLOWED[package] - {package}
    offences = [f"{path.relative_to(ROOT)}:{line} imports {target}"
                for path in sorted((ROOT / package).rglob("*.py"))
                for line, target in imports_of(path) if target in forbidden]
    assert not offences, "\n".join(offences)


def test_every_top_level_package_has_a_floor() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} == set(ALLOWED)
