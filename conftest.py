"""The project's own test run (this file is not shipped): the opt-in groups, and how many workers pytest-xdist's
`-n auto` starts.

An opt-in group is a marker on tests that need a tool from outside the project's environment, or take a minute.
They run only when selected with `-m` (`.venv/bin/pytest -m browser`, `-m "sdks or asyncapi"`); without `-m` they
are deselected. Selected, a missing tool fails the test with the command that installs it: CI selects every
group (.ci/run), so none of them can pass by being skipped there. A new group is one more line below.
"""

from __future__ import annotations

import os
import sys

import pytest

# Python's default, restored where the environment turns it off (PYTHONDONTWRITEBYTECODE, as this project's CI
# image sets): otherwise each process the suite starts (its workers, every mock and pytest run as a command)
# compiles the project again (collecting the suite: 3.3 s, cached 1.4 s).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

OPT_IN_GROUPS = {
    "browser": "the dashboard in headless system Chromium, driven by Selenium (tests/e2e/test_dashboard_browser.py)",
    "sdks": "the official Python SDKs, each in its own environment under .venv-sdk/ (tests/e2e/test_sdks.py)",
    "asyncapi": "the AsyncAPI parser from npm, under .venv-asyncapi/ (tests/test_asyncapi.py)",
    "wheel": "the contract suite from a built wheel in a fresh environment, about a minute (tests/e2e/test_wheel.py)",
    "container": "the image scripts/ci-container builds (LIPSYNC_IMAGE), run by podman (tests/e2e/test_container.py)",
    "js": "JavaScript under node: the control API's client and examples/js (tests/test_client_script.py)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, needs in OPT_IN_GROUPS.items():
        config.addinivalue_line("markers", f"{name}: opt-in, runs only when selected with -m: {needs}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr"):  # selected with -m: pytest's own selection decides
        return
    kept, opted_in = [], []
    for item in items:
        (opted_in if any(item.get_closest_marker(name) for name in OPT_IN_GROUPS) else kept).append(item)
    if opted_in:
        config.hook.pytest_deselected(items=opted_in)
        items[:] = kept


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent with -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # Two workers more than there are cores: much of the suite waits on processes it starts (mock servers, render
    # processes at idle priority, a browser). On this project's 2-core machine, runs interleaved: 3 workers
    # 58.3 / 58.0 / 78.0 / 61.2 / 65.3 s, 4 workers 56.3 / 54.8 / 58.3 / 56.4 / 70.3 s (docs/dev/benchmarks.md).
    return len(os.sched_getaffinity(0)) + 2
