"""The hub's fan-out engine, probes and settings import no app: apps plug in by string or registry."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("bookings", "crew", "guestpages")
#: the hub modules this test holds to the rule (the whole-tree import graph is checked elsewhere)
HUB = [
    *sorted((ROOT / "charterops" / "fanout").glob("*.py")),
    ROOT / "charterops" / "health.py",
    ROOT / "charterops" / "readiness.py",
    ROOT / "charterops" / "settings.py",
    ROOT / "charterops" / "admin.py",
    *sorted((ROOT / "charterops" / "management" / "commands").glob("*.py")),
]


def _imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", HUB, ids=lambda p: str(p.relative_to(ROOT)))
def test_hub_module_imports_no_app(path):
    wrong = [n for n in _imported(path) if n.split(".")[0] in APPS]
    assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"
