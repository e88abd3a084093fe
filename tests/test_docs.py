"""The documentation names real things: the README's choices point at code that exists, and the table of
error codes is the catalogue's."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from mock_server.exceptions import CATALOGUE, VALIDATION_FAMILIES

ROOT = Path(__file__).resolve().parent.parent


def resolve(dotted: str) -> object:
    """`dispatcher.TaskDispatcher._poll` → the object, importing `mock_server.dispatcher`."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module("mock_server." + ".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def test_every_place_the_readme_names_for_a_choice_exists():
    readme = (ROOT / "README.md").read_text()
    places = re.findall(r"^\|[^\n]*\| `([a-z_]+\.[A-Za-z_.]+)` \|$", readme, re.MULTILINE)
    assert len(places) >= 8
    for place in places:
        assert resolve(place) is not None, place


def test_the_table_of_error_codes_is_the_catalogue():
    text = (ROOT / "docs" / "errors.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Za-z<>]+)` \| (\d{3}) \|", text, re.MULTILINE))
    expected = {code.code: str(code.status) for code in CATALOGUE.values()}
    expected |= {f"{prefix}<Name>": "400" for prefix in VALIDATION_FAMILIES}
    assert rows == expected


def test_the_architecture_note_names_modules_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for path in set(re.findall(r"`mock_server/([a-z_/]+\.py)`", text)):
        assert (ROOT / "mock_server" / path).exists(), path
