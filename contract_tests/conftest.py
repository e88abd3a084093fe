"""Wires the contract suite to its target: fixtures, recording, and the reports at the end. The command-line
options are registered by the installed plugin, `contract_tests/plugin.py`."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from contract_tests.client import ApiClient
from contract_tests.conformance import Conformance
from contract_tests.payloads import PaidTask, RefusedTask, example_task
from contract_tests.spending import SpendGuard
from contract_tests.targets import UNREACHABLE_MEDIA, MediaServer, MediaSet, Target, describe_target
from mock_server.recording import CaseRecording

LOCAL_KEY = "contract-test-key"
CONFORMANCE = pytest.StashKey[Conformance]()
SPENDING = pytest.StashKey[SpendGuard]()
MEDIA_BASE_URL = pytest.StashKey[str]()
OUTCOME = pytest.StashKey[str]()

# A function-scoped client is cheap and stateless across examples, so hypothesis may share it.
_shared = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("quick", _shared, max_examples=10)
settings.register_profile("default", _shared, max_examples=200)
settings.register_profile("thorough", _shared, max_examples=2000)


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile(config.getoption("profile"))
    config.stash[CONFORMANCE] = Conformance()


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    url, key = pytestconfig.getoption("target"), pytestconfig.getoption("api_key")
    if url is None:
        # The server is imported only to start one: a run against a target loads none of it.
        from mock_server.config import Settings
        from mock_server.testing import BackgroundServer

        with BackgroundServer(Settings(api_keys=(LOCAL_KEY,), processing_rate=0.05)) as mock:
            yield describe_target(mock.url, LOCAL_KEY)
        return
    described = describe_target(url, key or LOCAL_KEY)
    if key is None and not described.is_local:
        pytest.skip("no API key for a remote target: set RUNWARE_API_KEY or pass --api-key")
    yield described


@pytest.fixture(scope="session")
def media(target: Target, pytestconfig: pytest.Config) -> Iterator[MediaSet | None]:
    """The media paid cases send; None where the target has no way to fetch it."""
    base = pytestconfig.getoption("media_base_url")
    if base:
        pytestconfig.stash[MEDIA_BASE_URL] = base.rstrip("/")
        yield MediaSet.under(base)
    elif target.is_local:
        with MediaServer() as server:
            pytestconfig.stash[MEDIA_BASE_URL] = server.base_url
            yield MediaSet.under(server.base_url)
    else:
        yield None


@pytest.fixture(scope="session")
def spend_guard(target: Target, pytestconfig: pytest.Config) -> Iterator[SpendGuard]:
    budget = pytestconfig.getoption("allow_spend")
    if budget > 0 and not target.is_local and hasattr(pytestconfig, "workerinput"):
        # Each pytest-xdist worker would keep a budget of its own: together they could spend it several times.
        pytest.exit("paid cases run in one process: add -p no:xdist (or -n 0) with --allow-spend", returncode=4)
    guard = SpendGuard(budget, target.is_local)
    pytestconfig.stash[SPENDING] = guard
    # What the account itself says the run used: its balance before the first paid case and after the last.
    client = ApiClient(target.url, target.api_key)
    before = client.balance()
    yield guard
    guard.add_balance_used(before, client.balance())
    client.close()


@pytest.fixture
def api(target: Target, request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    folder: Path | None = request.config.getoption("record")
    recording = CaseRecording(case_name(request.node), target.api_key) if folder else None
    client = ApiClient(target.url, target.api_key, recording=recording)
    yield client
    client.close()
    if folder and recording and recording.exchanges:
        recording.write(
            folder,
            outcome=request.node.stash.get(OUTCOME, "unknown"),
            target=target.url,
            media_base_url=request.config.stash.get(MEDIA_BASE_URL, None),
        )


def case_name(item: pytest.Item) -> str:
    """The test case as a module path and test name: the same from a checkout or an installed package."""
    module = getattr(item, "module", None)
    return f"{module.__name__}::{item.name}" if module else item.nodeid


@pytest.fixture(scope="session")
def conformance(pytestconfig: pytest.Config) -> Conformance:
    return pytestconfig.stash[CONFORMANCE]


@pytest.fixture
def paid_task(media: MediaSet | None, spend_guard: SpendGuard) -> PaidTask:
    """Make a task that will run, with fetchable media, after the spending guard allowed it.

    `paid_task(task)` checks a task that is already built; `paid_task()` builds the minimal example.
    """

    def make(task: dict[str, Any] | None = None, voice_seconds: float | None = None) -> dict[str, Any]:
        if media is None:
            pytest.skip("a paid case needs --media-base-url: the target must be able to download its media")
        task = task or example_task()
        audio, seconds = media.voice(voice_seconds) if voice_seconds else (media.audio, media.audio_seconds)
        task["inputs"] = {**task["inputs"], "video": media.video, "audio": audio}
        spend_guard.charge(task, seconds)
        return task

    return make


@pytest.fixture
def refused_task(target: Target) -> RefusedTask:
    """The base of a task meant to be refused; on a remote target its media cannot be fetched, should the
    target run it after all."""

    def make() -> dict[str, Any]:
        task = example_task()
        if not target.is_local:
            task["inputs"] = dict(zip(("video", "audio"), UNREACHABLE_MEDIA, strict=True))
        return task

    return make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call" or report.outcome != "passed":
        item.stash[OUTCOME] = report.outcome  # written into the case's recording, if there is one
    client = getattr(item, "funcargs", {}).get("api")
    if report.failed and call.when == "call" and isinstance(client, ApiClient) and client.sent:
        last = client.sent[-1]
        report.sections.append(
            ("reproduce the last request", f"{last.decode(errors='replace')}\n\n{client.curl(last)}")
        )
    return report


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent without it
def pytest_testnodedown(node: Any, error: Any) -> None:
    """A pytest-xdist worker finished: count its conformance rows and spending in (see pytest_sessionfinish)."""
    output = getattr(node, "workeroutput", {})
    config = node.config
    config.stash[CONFORMANCE].add_rows(output.get("conformance", []))
    if "spending" in output:
        totals = dict(output["spending"])
        guard = config.stash.get(SPENDING, None) or SpendGuard(Decimal(0), bool(totals.pop("is_local")))
        totals.pop("is_local", None)
        guard.add_totals(totals)
        config.stash[SPENDING] = guard


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    # Printed only when asked: in the project's own test run it would bury the summary under a page of rows.
    asked = config.getoption("conformance_table") or config.getoption("conformance_report")
    table = config.stash[CONFORMANCE].table()
    if asked and table:
        terminalreporter.write_sep("=", "lipsync-2 conformance")
        terminalreporter.write_line(table)
    if SPENDING in config.stash:
        terminalreporter.write_line(config.stash[SPENDING].summary())


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workeroutput"):  # a pytest-xdist worker: the controller prints and writes the reports
        config.workeroutput["conformance"] = config.stash[CONFORMANCE].rows()
        if SPENDING in config.stash:
            config.workeroutput["spending"] = {
                **config.stash[SPENDING].totals(),
                "is_local": config.stash[SPENDING].is_local,
            }
        return
    path = session.config.getoption("conformance_report")
    if path:
        session.config.stash[CONFORMANCE].write_reports(path)
