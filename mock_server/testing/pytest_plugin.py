"""pytest fixtures for testing a lipsync-2 client against the mock (registered as the `lipsync_mock` plugin).

One mock serves the whole session (`lipsync_mock_session`), restored to a fresh state before each test that
uses `lipsync_mock`; a test (or class, or module) that overrides `lipsync_mock_settings` gets a mock of its own.

After each test the plugin reads the mock's client coverage (GET /__mock/coverage) and adds it to the
session's; at the end it prints a summary, writes `--lipsync-coverage-report FILE` (JSON and Markdown) and fails
the session under `--lipsync-coverage-fail-under PERCENT`. With pytest-xdist each worker's coverage is sent to
the controller, which reports the whole run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.config import Settings
from mock_server.coverage import tally
from mock_server.testing.background import BackgroundServer
from mock_server.testing.fixture import LipsyncMock

# The settings of the shared mock: tasks finish at the first poll. Compared by identity, so any override of
# `lipsync_mock_settings` — even one equal to these — gets a mock of its own.
SHARED_SETTINGS = Settings(processing_rate=0.0)

# In the summary, each section names at most this many entries never met; the report file names them all.
SHOWN_UNMET = 6
WORKER_OUTPUT = "lipsync_mock_coverage"
NONE_READ = "none was read: no test used lipsync_mock with its control API"


class SessionCoverage:
    """The coverage of every mock the session's tests used, merged: an entry is met if any test met it."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, bool]] = {}
        self.used = False

    def add(self, report: dict[str, Any]) -> None:
        """Merge a report of GET /__mock/coverage (or one `to_json` made)."""
        self.used = True
        for name, section in report["sections"].items():
            entries = self.sections.setdefault(name, {})
            for entry in section["entries"]:
                entries[entry["name"]] = entries.get(entry["name"], False) or entry["met"]

    def to_json(self) -> dict[str, Any]:
        """As the mock answers it: sections of entries, each section's percentage and the overall one."""
        sections = {}
        for name, entries in self.sections.items():
            rows = [{"name": entry, "met": met} for entry, met in entries.items()]
            sections[name] = {**tally(rows), "entries": rows}
        everything = [row for section in sections.values() for row in section["entries"]]
        return {**tally(everything), "sections": sections}

    def percent(self) -> float:
        """The overall percentage; 0 when no test used the mock (nothing was measured)."""
        return self.to_json()["percent"] if self.used else 0.0

    def summary(self) -> list[str]:
        report = self.to_json()
        if not self.used:
            return [f"lipsync-mock client coverage: 0.0% ({NONE_READ})"]
        lines = [f"lipsync-mock client coverage: {report['percent']}% ({report['met']} of {report['total']})"]
        width = max((len(name) for name in report["sections"]), default=0)
        for name, section in report["sections"].items():
            unmet = [entry["name"] for entry in section["entries"] if not entry["met"]]
            line = f"  {name:<{width}}  {section['met']:>3}/{section['total']:<3} {section['percent']:>5}%"
            if unmet:
                more = len(unmet) - SHOWN_UNMET
                line += "  never met: " + ", ".join(unmet[:SHOWN_UNMET]) + (f", and {more} more" if more > 0 else "")
            lines.append(line)
        return lines

    def markdown(self) -> str:
        report = self.to_json()
        lines = [
            "# lipsync-mock client coverage",
            "",
            f"{report['percent']}% of the contract met ({report['met']} of {report['total']} entries).",
            "",
            "| section | met | percent |",
            "|---|---|---|",
        ]
        for name, section in report["sections"].items():
            lines.append(f"| {name} | {section['met']} of {section['total']} | {section['percent']}% |")
        for name, section in report["sections"].items():
            lines += ["", f"## {name}", ""]
            lines += [f"- [{'x' if entry['met'] else ' '}] `{entry['name']}`" for entry in section["entries"]]
        return "\n".join(lines) + "\n"


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {text!r}")
    return value


COVERAGE = pytest.StashKey[SessionCoverage]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lipsync-mock", "lipsync-mock's client coverage")
    group.addoption(
        "--lipsync-coverage-fail-under",
        type=_percent,
        metavar="PERCENT",
        help="fail the session when the client coverage of the tests that used lipsync_mock is under PERCENT",
    )
    group.addoption(
        "--lipsync-coverage-report",
        metavar="FILE",
        help="write the client coverage to FILE.json and FILE.md (the suffix FILE has, if any, is replaced)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[COVERAGE] = SessionCoverage()


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: on the controller, as each worker ends
def pytest_testnodedown(node: Any, error: Any) -> None:
    report = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if report is not None:
        node.config.stash[COVERAGE].add(json.loads(report))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config, coverage = session.config, session.config.stash[COVERAGE]
    if hasattr(config, "workeroutput"):  # an xdist worker: the controller reports
        if coverage.used:
            config.workeroutput[WORKER_OUTPUT] = json.dumps(coverage.to_json())
        return
    report_file = config.getoption("lipsync_coverage_report")
    if report_file is not None and coverage.used:
        path = Path(report_file)
        path.with_suffix(".json").write_text(json.dumps(coverage.to_json(), indent=2) + "\n")
        path.with_suffix(".md").write_text(coverage.markdown())
    fail_under = config.getoption("lipsync_coverage_fail_under")
    if fail_under is not None and coverage.percent() < fail_under and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    coverage = config.stash[COVERAGE]
    fail_under = config.getoption("lipsync_coverage_fail_under")
    if not coverage.used and fail_under is None:
        return
    terminalreporter.section("lipsync-mock coverage")
    for line in coverage.summary():
        terminalreporter.write_line(line)
    percent = coverage.percent()
    if fail_under is not None and percent < fail_under:
        terminalreporter.write_line(
            f"FAIL: client coverage {percent}% is under --lipsync-coverage-fail-under {fail_under:g}", red=True
        )


def _settled_coverage(mock: LipsyncMock, config: pytest.Config) -> dict[str, Any]:
    """The mock's coverage after a test. Where a report or a gate was asked for, once the work in flight (renders,
    webhook retries) is done, so that it is counted; otherwise as it stands, so that no test waits at its end
    for work it left behind."""
    if config.getoption("lipsync_coverage_report") or config.getoption("lipsync_coverage_fail_under") is not None:
        with contextlib.suppress(TimeoutError):
            mock.wait_idle(timeout=30.0)
    return mock.coverage()


@pytest.fixture
def lipsync_mock_settings() -> Settings:
    """How `lipsync_mock` is configured; override this fixture to change it. Finishes tasks at once."""
    return SHARED_SETTINGS


@pytest.fixture(scope="session")
def lipsync_mock_session() -> Iterator[LipsyncMock]:
    """The mock shared by the session's tests (not reset by itself: use `lipsync_mock`)."""
    with BackgroundServer(SHARED_SETTINGS) as server:
        yield LipsyncMock(server)


@pytest.fixture
def lipsync_mock(request: pytest.FixtureRequest, lipsync_mock_settings: Settings) -> Iterator[LipsyncMock]:
    """A mock in a fresh state for one test: `.url` for the client, control operations, assertions."""
    session_coverage = request.config.stash[COVERAGE]
    if lipsync_mock_settings is SHARED_SETTINGS:
        shared: LipsyncMock = request.getfixturevalue("lipsync_mock_session")
        shared.restore()
        yield shared
        session_coverage.add(_settled_coverage(shared, request.config))
        return
    with BackgroundServer(lipsync_mock_settings) as server:
        mock = LipsyncMock(server)
        yield mock
        if lipsync_mock_settings.control:  # with --no-control there is no coverage to read
            session_coverage.add(_settled_coverage(mock, request.config))
