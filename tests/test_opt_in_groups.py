"""The opt-in groups (conftest.py): left out of a run without -m, run when selected, and each group that has tests
selected by CI, so that none can pass there by being left out."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import OPT_IN_GROUPS

ROOT = Path(__file__).resolve().parent.parent
FILES = ["tests/test_wheel.py", "tests/test_sdks.py"]


def collected(*arguments: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *arguments]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_a_run_without_m_leaves_the_opt_in_groups_out():
    assert collected(*FILES) == ["tests/test_sdks.py::test_the_sdk_environments_are_not_this_one"]


def test_the_groups_selected_with_m_run_and_nothing_else():
    selected = collected("-m", "sdks or wheel", *FILES)
    assert [test.split("::")[0] for test in selected] == ["tests/test_wheel.py"] * 5 + ["tests/test_sdks.py"] * 3
    assert "tests/test_sdks.py::test_the_sdk_environments_are_not_this_one" not in selected


def test_ci_selects_every_group_that_has_tests():
    marked = {
        group
        for path in (ROOT / "tests").glob("test_*.py")
        for group in re.findall(r"pytest\.mark\.(\w+)", path.read_text())
        if group in OPT_IN_GROUPS
    }
    assert marked >= {"browser", "sdks", "asyncapi", "wheel"}
    selections = re.findall(r'^\.venv/bin/pytest .*-m "?([\w ]+)"?$', (ROOT / ".ci" / "run").read_text(), re.M)
    selected = {word for selection in selections for word in selection.split() if word != "or"}
    assert marked <= selected, sorted(marked - selected)
