"""pytest fixtures for testing a lipsync-2 client against the mock (registered as the `lipsync_mock` plugin).

One mock serves the whole session (`lipsync_mock_session`), restored to a fresh state before each test that
uses `lipsync_mock`; a test (or class, or module) that overrides `lipsync_mock_settings` gets a mock of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.config import Settings
from mock_server.testing.background import BackgroundServer
from mock_server.testing.fixture import LipsyncMock

# The settings of the shared mock: tasks finish at the first poll. Compared by identity, so any override of
# `lipsync_mock_settings` — even one equal to these — gets a mock of its own.
SHARED_SETTINGS = Settings(processing_rate=0.0)


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
    if lipsync_mock_settings is SHARED_SETTINGS:
        shared: LipsyncMock = request.getfixturevalue("lipsync_mock_session")
        shared.restore()
        yield shared
        return
    with BackgroundServer(lipsync_mock_settings) as server:
        yield LipsyncMock(server)
