"""The contract suite's options (contract_tests/plugin.py): the conformance table is printed only when asked."""

from __future__ import annotations

import subprocess
import sys

TABLE = "lipsync-2 conformance"
# Four cases that fill the table, against the mock the suite starts itself.
CASES = ["--pyargs", "contract_tests", "-k", "past_the_boundary and outputQuality", "--profile", "quick", "-q"]


def run_suite(cwd, *options: str) -> str:
    command = [sys.executable, "-m", "pytest", *CASES, "-p", "no:cacheprovider", *options]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_conformance_table_is_printed_only_when_asked(tmp_path):
    quiet = run_suite(tmp_path)
    assert "4 passed" in quiet and TABLE not in quiet
    asked = run_suite(tmp_path, "--conformance-table")
    assert TABLE in asked
    assert "outputQuality      4        0       4          0" in asked.split(TABLE)[1]
