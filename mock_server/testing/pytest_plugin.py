"""pytest fixtures for testing a lipsync-2 client against the mock (registered as the `lipsync_mock` plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.config import Settings
from mock_server.testing.background import BackgroundServer


@pytest.fixture
def lipsync_mock_settings() -> Settings:
    """How `lipsync_mock` is configured; override this fixture to change it. Finishes tasks at once."""
    return Settings(processing_rate=0.0)


@pytest.fixture
def lipsync_mock(lipsync_mock_settings: Settings) -> Iterator[BackgroundServer]:
    """A fresh mock for one test: `.url` for the client, `.received()` for the tasks it was sent."""
    with BackgroundServer(lipsync_mock_settings) as server:
        yield server
