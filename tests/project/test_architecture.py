"""Guards on the shape of the code: no module reaches into another object's private attributes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["mock_server", "contract_tests", "tests", "benchmarks"]


def private_reaches(source: str) -> list[str]:
    """`x._name` where x is not `self`, `cls` or `super()`: a private attribute read from outside its object (a
    subclass calling its base's own implementation is still the same object)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            and not (isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "super")
            # Public APIs spelled with an underscore: NamedTuple's (_replace, _make, ...) and os._exit.
            and node.attr not in ("_replace", "_make", "_fields", "_asdict", "_exit")
        ):
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_the_guard_finds_a_private_reach():
    source = "runner._jobs\nself._jobs\nx._replace()\nsuper()._answer()\nsuper(x)._y\nother()._z"
    assert private_reaches(source) == ["runner._jobs (line 1)", "other()._z (line 6)"]


def test_no_module_reaches_into_another_objects_private_attributes():
    offenders = {}
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found = private_reaches(path.read_text())
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
