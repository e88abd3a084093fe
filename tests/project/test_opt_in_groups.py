"""The opt-in groups (conftest.py): left out of a run without -m, run when selected, and each group that has tests
selected by CI, so that none can pass there by being left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import OPT_IN_GROUPS

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
# Plugins these tests need none of; each would be set up again for every run.
NO_PLUGINS = [f"-pno:{name}" for name in ("cacheprovider", "xdist", "asyncio", "aiohttp", "hypothesispytest")]
TESTS = """
import pytest

@pytest.mark.wheel
def test_from_the_wheel(): pass

@pytest.mark.sdks
def test_with_an_sdk(): pass

def test_plain(): pass
"""


@pytest.fixture
def collected(pytester: pytest.Pytester):
    """The tests a run collects with the project's conftest.py, given its arguments (in this process: fast)."""
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_groups=TESTS)

    def collect(*arguments: str) -> list[str]:
        result = pytester.runpytest_inprocess("--collect-only", "-q", *NO_PLUGINS, *arguments)
        return [line.split("::")[1] for line in result.outlines if "::" in line]

    return collect


def test_a_run_without_m_leaves_the_opt_in_groups_out(collected):
    assert collected() == ["test_plain"]


def test_the_groups_selected_with_m_run_and_nothing_else(collected):
    assert collected("-m", "sdks or wheel") == ["test_from_the_wheel", "test_with_an_sdk"]
    assert collected("-m", "wheel") == ["test_from_the_wheel"]


def test_ci_selects_every_group_that_has_tests():
    marked = {
        group
        for path in (ROOT / "tests").rglob("test_*.py")
        for group in re.findall(r"pytest\.mark\.(\w+)", path.read_text())
        if group in OPT_IN_GROUPS
    }
    assert marked >= {"browser", "sdks", "asyncapi", "wheel"}
    selections = re.findall(
        r'^(?:\w+=\S+ )*\.venv/bin/pytest .*-m "?([\w ]+)"?$', (ROOT / ".ci" / "run").read_text(), re.M
    )
    selected = {word for selection in selections for word in selection.split() if word != "or"}
    assert marked <= selected, sorted(marked - selected)
