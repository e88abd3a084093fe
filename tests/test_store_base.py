from __future__ import annotations

import uuid

from yarl import URL

from contract_tests.payloads import MEDIA_DIR, data_uri
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.store import Expiry, Result, Task, expiry

KEY = {"Authorization": "Bearer key"}


def make_task(task_uuid: str, video_uuids: list[str]) -> Task:
    results = [Result(v, 1, 10.0, 70.0, None, None) for v in video_uuids]
    return Task.create(task_uuid, "MP4", '{"outputFormat": "MP4"}', 0.0, results)


def test_a_result_is_ready_at_its_time_and_served_until_it_expires():
    result = Result("v", 1, ready_at=10.0, expires_at=70.0, cost=None, nsfw_content=None)
    assert [result.is_ready(t) for t in (9.99, 10.0)] == [False, True]
    assert [result.is_served(t) for t in (9.99, 10.0, 69.99, 70.0)] == [False, True, True, False]


def test_expiry_drops_a_file_past_every_ttl_and_a_task_past_the_retention():
    task = make_task("t", ["v1", "v2"])  # created at 0, results expire at 70
    assert expiry(task, now=69.9, retention=None) is Expiry.KEEP
    assert expiry(task, now=70.0, retention=None) is Expiry.DROP_FILE
    assert expiry(task, now=50.0, retention=49.0) is Expiry.DROP_TASK
    assert expiry(task, now=50.0, retention=50.0) is Expiry.KEEP
    kept = task.with_results([task.results[0], task.results[1]._replace(expires_at=None)])
    assert expiry(kept, now=1e9, retention=None) is Expiry.KEEP


async def test_past_the_stored_bytes_the_oldest_upload_is_dropped_and_its_url_answers_not_found(aiohttp_client):
    voice = MEDIA_DIR / "voice.wav"  # 32 kB: two fit in the budget, not three
    settings = Settings(processing_rate=0, quiet=True, max_stored_bytes=voice.stat().st_size * 5 // 2)
    client = await aiohttp_client(create_app(settings))
    urls = []
    for _ in range(3):
        task = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload"}
        response = await client.post("/v1", json=[{**task, "media": data_uri("voice.wav")}], headers=KEY)
        assert response.status == 200
        urls.append(URL((await response.json())["data"][0]["mediaURL"]).path)
    assert [(await client.get(url)).status for url in urls] == [404, 200, 200]
