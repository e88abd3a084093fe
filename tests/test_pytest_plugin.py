from __future__ import annotations

import json
import urllib.request

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.config import Settings


def post(url: str, tasks, key: str = "any-key") -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(tasks).encode(), {"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_fixture_serves_a_fresh_mock_and_shows_what_it_received(lipsync_mock):
    task = with_inline_media(example_task())
    assert lipsync_mock.url.startswith("http://127.0.0.1:")
    assert post(lipsync_mock.url, [task])[0] == 200
    poll = {"taskType": "getResponse", "taskUUID": task["taskUUID"]}
    assert post(lipsync_mock.url, [poll])[1]["data"][0]["status"] == "success"
    assert lipsync_mock.received() == [task, poll]
    assert lipsync_mock.received(task["taskUUID"]) == [task, poll]
    assert lipsync_mock.received("3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f") == []


class TestConfigured:
    @pytest.fixture
    def lipsync_mock_settings(self):
        return Settings(api_keys=("only-this",))

    def test_the_settings_fixture_configures_it(self, lipsync_mock):
        assert post(lipsync_mock.url, [example_task()], key="other")[0] == 401
        assert post(lipsync_mock.url, [example_task()], key="only-this")[0] == 200


async def test_it_serves_async_tests_too(lipsync_mock, aiohttp_client):
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{lipsync_mock.base_url}/health") as response:
        assert response.status == 200
