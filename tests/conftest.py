"""Fixtures shared by the test files: a file that needs a mock configured otherwise defines its own `mock`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.config import Settings
from mock_server.testing import BackgroundServer


@pytest.fixture(scope="module")
def mock() -> Iterator[BackgroundServer]:
    """One mock for the file's tests, finishing tasks at their first poll (`processing_rate=0`)."""
    with BackgroundServer(Settings(processing_rate=0)) as server:
        yield server
