"""Fixtures shared by the test files: a file that needs a mock configured otherwise defines its own `mock`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from mock_server import cli
from mock_server.config import Settings
from mock_server.testing import BackgroundServer


@pytest.fixture(scope="module")
def mock() -> Iterator[BackgroundServer]:
    """One mock for the file's tests, finishing tasks at their first poll (`processing_rate=0`)."""
    with BackgroundServer(Settings(processing_rate=0)) as server:
        yield server


@pytest.fixture
def refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[object, str]]:
    """`lipsync-mock ARGUMENTS` run in this process up to where it would listen: its exit status and its stderr.

    A process costs about 0.4 s of CPU to import the server; this costs none. One test per way of refusing still
    runs the real command (`test_access.py`, `test_cli.py`). Starting to listen fails the test: these arguments
    were to be refused."""

    def listen(*_: object, **__: object) -> None:
        raise AssertionError("the mock started listening instead of refusing its arguments")

    def run(*arguments: str) -> tuple[object, str]:
        monkeypatch.setattr(cli, "configure_logging", lambda log_format: None)  # pytest's log capture stays
        monkeypatch.setattr(logging.getLogger("aiohttp.server"), "filters", [])
        monkeypatch.setattr(cli.connections, "run", listen)
        with pytest.raises(SystemExit) as exited:
            cli.main(["--port", "0", *arguments])
        return exited.value.code, capsys.readouterr().err

    return run
