"""The house's one-way dependencies: charterops <- bookings <- crew, guestpages.

The project package imports no app; bookings imports neither spoke; the two spokes do not
import each other. Every import statement counts, function-local and TYPE_CHECKING ones
included, so an arrow cannot hide inside a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What each package may import among the project's own packages (besides itself).
ALLOWED = {
    "charterops": set(),
    "bookings": {"charterops"},
    "crew": {"charterops", "bookings"},
    "guestpages": {"charterops", "bookings"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in a file, relative ones resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def import_graph_violations() -> list[str]:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module in _imports(path):
                top = module.split(".")[0]
                if top in ALLOWED and top != package and top not in allowed:
                    where = path.relative_to(ROOT)
                    violations.append(f"{where}:{line} {package} -> {module}")
    return violations


def test_dependencies_run_one_way():
    assert import_graph_violations() == []


@pytest.mark.parametrize(
    ("source", "text", "arrow"),
    [
        ("charterops/x.py", "from bookings.models import Booking", "charterops -> bookings.models"),
        ("bookings/x.py", "def f():\n    from crew import models", "bookings -> crew"),
        ("crew/x.py", "import guestpages.views", "crew -> guestpages.views"),
        ("guestpages/sub/x.py", "from ...crew.models import Photo", "guestpages -> crew.models"),
    ],
)
def test_the_walk_sees_an_arrow_the_wrong_way(tmp_path, monkeypatch, source, text, arrow):
    """The walk itself is checked: each kind of wrong-way import is caught."""
    for package in ALLOWED:
        (tmp_path / package).mkdir()
    path = tmp_path / source
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert [v.split(" ", 1)[1] for v in import_graph_violations()] == [arrow]
