from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from contract_tests.client import ApiClient
from mock_server.app import create_app
from mock_server.config import Settings

API_KEY = "contract-test-key"


@pytest.fixture
def mock_settings() -> Settings:
    """Settings of the in-process mock; override in a module to change them."""
    return Settings(api_keys=(API_KEY,), processing_rate=0.0)


@pytest.fixture
async def api(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient]], mock_settings: Settings
) -> AsyncIterator[ApiClient]:
    app: web.Application = create_app(mock_settings)
    client = await aiohttp_client(app)
    yield ApiClient(client.session, str(client.make_url("/v1")), API_KEY)
