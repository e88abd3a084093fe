"""For tests that use the mock: a server in a background thread, a client for its control API, and the pytest
plugin (`mock_server.testing.pytest_plugin`, registered on install) built on them."""

from mock_server.testing.background import BackgroundServer
from mock_server.testing.control_client import ControlError, MockControl
from mock_server.testing.fixture import LipsyncMock

__all__ = ["BackgroundServer", "ControlError", "LipsyncMock", "MockControl"]
