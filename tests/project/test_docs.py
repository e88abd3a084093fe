"""The documentation names real things: the README's choices point at code that exists, and the table of
error codes is the catalogue's."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mock_server
from mock_server.config import Settings, settings_reference
from mock_server.exceptions import CATALOGUE, VALIDATION_FAMILIES
from mock_server.testing import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]


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


def test_every_place_the_docs_name_for_a_choice_exists():
    choices = (ROOT / "docs" / "behaviour.md").read_text()
    places = re.findall(r"^\|[^\n]*\| `([a-z_]+\.[A-Za-z_.]+)` \|$", choices, re.MULTILINE)
    assert len(places) >= 8
    for place in places:
        assert resolve(place) is not None, place


def test_the_table_of_error_codes_is_the_catalogue():
    text = (ROOT / "docs" / "errors.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Za-z<>]+)` \| (\d{3}) \|", text, re.MULTILINE))
    expected = {code.code: str(code.status) for code in CATALOGUE.values()}
    expected |= {f"{prefix}<Name>": "400" for prefix in VALIDATION_FAMILIES}
    assert rows == expected


def test_the_settings_page_lists_every_setting_as_the_settings_define_it():
    page = (ROOT / "docs" / "settings.md").read_text()
    table = page.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert table == settings_reference()


def test_every_relative_link_in_the_docs_leads_to_a_file():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (page.parent / target).exists(), f"{page.name} links to {target}"


def test_every_benchmark_the_docs_name_exists():
    named = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        named |= set(re.findall(r"(?:-m |`)benchmarks\.([a-z_]+)", page.read_text()))
    assert {"load", "render", "startup"} <= named
    for name in named:
        assert (ROOT / "benchmarks" / f"{name}.py").exists(), name


# What the docs and docstrings name, in backticks or after "see": `dispatcher.TaskDispatcher._poll`, `body.py`,
# `docs/limits.md`. A dotted name whose first part is no module here (a parameter path such as `inputs.video`, an
# attribute of an object) is not a symbol of the project's.
_DOTTED = r"(?:`|\bsee )((?:[a-z_]+\.)+[A-Za-z_]+)(?:\(\))?"
_PATH = r"(?<![\w/])((?:mock_server|contract_tests|tests|benchmarks|schemas|docs|fixtures|examples)/[\w./-]*\w)"
_MODULES = {module.name for module in pkgutil.iter_modules(mock_server.__path__)} - {"inputs"}  # inputs.video: a path


def _named_in(text: str) -> tuple[set[str], set[str]]:
    return set(re.findall(_DOTTED, text)), set(re.findall(_PATH, text))


def _sources() -> list[Path]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return pages + sorted((ROOT / "mock_server").rglob("*.py")) + sorted((ROOT / "contract_tests").rglob("*.py"))


@pytest.mark.parametrize("source", _sources(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_file_and_symbol_the_docs_and_docstrings_name_exists(source):
    symbols, paths = _named_in(source.read_text())
    for name in symbols:
        if name.endswith(".py"):
            folders = ("mock_server", "contract_tests", "tests", "benchmarks")
            assert any(any((ROOT / folder).rglob(name)) for folder in folders), f"{name} names no file"
        elif name.split(".")[0] in _MODULES:
            assert resolve(name) is not None, name
    for path in paths:
        assert (ROOT / path).exists() or (ROOT / path.rstrip(".")).exists(), f"{path} does not exist"


def test_the_architecture_note_names_modules_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for path in set(re.findall(r"`mock_server/([a-z_/]+\.py)`", text)):
        assert (ROOT / "mock_server" / path).exists(), path


def runnable_blocks() -> list[tuple[str, str, str]]:
    """(where, language, code) of each code block marked `<!-- runnable -->` on the line before it."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text()
        pattern = r"<!-- runnable -->\n```(bash|python)\n(.*?)\n```"
        for number, (language, code) in enumerate(re.findall(pattern, text, re.DOTALL), 1):
            found.append((f"{page.name} block {number}", language, code))
    return found


def test_the_readme_marks_its_sessions_runnable():
    assert {where.split()[0] for where, _, _ in runnable_blocks()} >= {"README.md"}


@pytest.mark.parametrize(("where", "language", "code"), runnable_blocks(), ids=lambda v: v if " block " in v else "")
def test_runnable_blocks_run(where, language, code, tmp_path):
    """Each block runs as written, against a mock of its own (the docs' 127.0.0.1:8080 swapped for its free
    port), in a folder of its own that sees the project's fixtures."""
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")  # the files the sessions upload; outputs stay here
    with BackgroundServer(Settings(processing_rate=0.5)) as mock:
        code = code.replace("http://127.0.0.1:8080", mock.base_url)
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{where} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def test_the_newest_changelog_entry_is_the_packages_version():
    version = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert version and newest
    assert newest[1] == version[1]
