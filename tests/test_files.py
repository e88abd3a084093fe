"""Result and media files as a CDN serves them: ranges, HEAD, validators, and the download faults."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import threading
import uuid

import aiohttp
import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.http.app_keys import DISPATCHER
from mock_server.http.files import CHUNK_BYTES
from tests.test_dispatcher import FakeClock

HEADERS = {"Authorization": "Bearer key"}
BODY = bytes(range(256)) * 4096  # 1 MiB, every byte's place readable from its value
SIZE = len(BODY)


async def upload(client, data: bytes = BODY) -> str:
    media = "data:video/mp4;base64," + base64.b64encode(data).decode()
    task = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload", "media": media}
    reply = await client.post("/v1", json=[task], headers=HEADERS)
    return f"/media/{(await reply.json())['data'][0]['mediaUUID']}"


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True)))


async def test_a_file_is_served_whole_with_its_validators(client):
    path = await upload(client)
    response = await client.get(path)
    assert response.status == 200 and await response.read() == BODY
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["ETag"].startswith('"') and response.headers["ETag"].endswith(f'-{SIZE:x}"')


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=100-199", 100, 200),
        ("bytes=1000-", 1000, SIZE),
        ("bytes=-500", SIZE - 500, SIZE),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE),  # the last byte: the boundary accepted
        (f"bytes=10-{SIZE * 2}", 10, SIZE),  # an end past the file is cut to it
        (f"bytes=-{SIZE * 2}", 0, SIZE),
    ],
)
async def test_a_range_answers_206_with_its_bytes_and_content_range(client, asked, start, end):
    response = await client.get(await upload(client), headers={"Range": asked})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert await response.read() == BODY[start:end]


@pytest.mark.parametrize("asked", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=20-10"])
async def test_a_range_past_the_end_answers_416_with_the_size(client, asked):
    response = await client.get(await upload(client), headers={"Range": asked})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("asked", ["bytes=0-1,5-9", "items=0-9", "bytes=x-y", "bytes=-", "bytes=5"])
async def test_several_ranges_or_an_unreadable_one_answer_the_whole_file(client, asked):
    response = await client.get(await upload(client), headers={"Range": asked})
    assert response.status == 200 and await response.read() == BODY


async def test_if_range_naming_another_version_answers_the_whole_file(client):
    path = await upload(client)
    etag = (await client.head(path)).headers["ETag"]
    same = await client.get(path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status == 206 and await same.read() == BODY[:10]
    other = await client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert other.status == 200 and len(await other.read()) == SIZE


async def test_head_answers_the_headers_without_the_body(client):
    path = await upload(client)
    response = await client.head(path)
    assert response.status == 200 and response.headers["Content-Length"] == str(SIZE)
    assert response.headers["Content-Type"] == "video/mp4" and await response.read() == b""
    ranged = await client.head(path, headers={"Range": "bytes=10-19"})
    assert (ranged.status, ranged.headers["Content-Length"]) == (206, "10")


async def test_if_none_match_with_the_etag_answers_304(client):
    path = await upload(client)
    etag = (await client.get(path)).headers["ETag"]
    for asked in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await client.get(path, headers={"If-None-Match": asked})
        assert response.status == 304 and response.headers["ETag"] == etag and await response.read() == b""
    changed = await client.get(path, headers={"If-None-Match": '"other"'})
    assert changed.status == 200


async def test_a_result_carries_last_modified_from_when_it_was_ready(aiohttp_client):
    clock = FakeClock()
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True), clock=clock))
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers=HEADERS)
    dispatcher = client.app[DISPATCHER]
    await dispatcher.runner.idle()
    result = dispatcher.store.get(task["taskUUID"]).results[0]
    path = f"/videos/{result.video_uuid}.mp4"
    response = await client.get(path)
    assert response.status == 200
    assert email.utils.parsedate_to_datetime(response.headers["Last-Modified"]).timestamp() == int(result.ready_at)
    since = response.headers["Last-Modified"]
    assert (await client.get(path, headers={"If-Modified-Since": since})).status == 304
    earlier = email.utils.formatdate(result.ready_at - 10, usegmt=True)
    assert (await client.get(path, headers={"If-Modified-Since": earlier})).status == 200
    ranged = await client.get(path, headers={"Range": "bytes=0-7"})
    assert ranged.status == 206 and (await ranged.read())[4:8] == b"ftyp"


class HeldRead:
    """In place of a store's read of a whole file: it waits until released (as a large file on a slow disk
    would), at most `limit` seconds, and notes whether it was released or waited out."""

    def __init__(self, read, limit: float = 5.0) -> None:
        self.read, self.limit = read, limit
        self.started, self.released = threading.Event(), threading.Event()
        self.waited_out = False

    def __call__(self, name: str):
        self.started.set()
        self.waited_out = not self.released.wait(self.limit)
        return self.read(name)


async def answered_while_held(client, held: HeldRead, asking):
    """The response to `asking` (a request not yet awaited) whose store read is held: /health is asked
    meanwhile, and then the read released."""
    answer = asyncio.ensure_future(asking)
    assert await asyncio.to_thread(held.started.wait, 5)
    assert (await client.get("/health")).status == 200  # on the event loop, the held read would stall this
    held.released.set()
    response = await answer
    assert response.status == 200 and not held.waited_out
    return response


async def test_a_files_read_from_the_store_holds_no_other_request(client, monkeypatch):
    path = await upload(client)
    store = client.app[DISPATCHER].store
    held = HeldRead(store.get_media)
    monkeypatch.setattr(store, "get_media", held)
    assert await (await answered_while_held(client, held, client.get(path))).read() == BODY


async def test_deleting_an_upload_reads_it_without_holding_other_requests(client, monkeypatch):
    media_uuid = (await upload(client)).rpartition("/")[2]
    store = client.app[DISPATCHER].store
    held = HeldRead(store.get_media)
    monkeypatch.setattr(store, "get_media", held)
    task = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "delete", "mediaUUID": media_uuid}
    answer = await (await answered_while_held(client, held, client.post("/v1", json=[task], headers=HEADERS))).json()
    assert answer["data"][0]["mediaUUID"] == media_uuid
    assert store.get_media.read(media_uuid) is None


async def test_a_results_file_read_from_the_store_holds_no_other_request(aiohttp_client, monkeypatch):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True)))
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers=HEADERS)
    dispatcher = client.app[DISPATCHER]
    await dispatcher.runner.idle()
    store = dispatcher.store
    held = HeldRead(store.get_file)
    monkeypatch.setattr(store, "get_file", held)
    path = f"/videos/{store.get(task['taskUUID']).results[0].video_uuid}.mp4"
    assert await (await answered_while_held(client, held, client.get(path))).read() == held.read(task["taskUUID"])


@pytest.mark.parametrize("data_dir", [False, True], ids=["memory", "data-dir"])
async def test_an_upload_carries_last_modified_from_when_it_was_kept(aiohttp_client, tmp_path, data_dir):
    clock = FakeClock()
    settings = Settings(processing_rate=0, quiet=True, data_dir=tmp_path if data_dir else None)
    client = await aiohttp_client(create_app(settings, clock=clock))
    path = await upload(client)
    kept_at = clock()
    clock.now += 30
    response = await client.get(path)
    assert email.utils.parsedate_to_datetime(response.headers["Last-Modified"]).timestamp() == int(kept_at)
    assert (await client.get(path, headers={"If-Modified-Since": response.headers["Last-Modified"]})).status == 304
    earlier = email.utils.formatdate(kept_at - 1, usegmt=True)
    assert (await client.get(path, headers={"If-Modified-Since": earlier})).status == 200


async def test_a_large_file_goes_out_in_chunks(client):
    data = b"\1" * (CHUNK_BYTES * 4 + 5)
    response = await client.get(await upload(client, data))
    sizes = [len(chunk) async for chunk, _ in response.content.iter_chunks()]
    assert sum(sizes) == len(data) and len(sizes) > 1


# The download faults, each through the header, a rule and chaos.


async def test_cut_after_sends_that_many_bytes_then_closes(client):
    path = await upload(client)
    for cut in (0, 1, 70_000):
        response = await client.get(path, headers={"X-Mock-Fault": f"cut_after={cut}"})
        assert response.status == 200 and response.headers["Content-Length"] == str(SIZE)
        received = bytearray()
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in response.content.iter_any():
                received += chunk
        assert bytes(received) == BODY[:cut]
    whole = await client.get(path, headers={"X-Mock-Fault": f"cut_after={SIZE}"})  # the boundary: all of it
    assert await whole.read() == BODY
    ranged = await client.get(path, headers={"X-Mock-Fault": "cut_after=10", "Range": "bytes=100-"})
    with pytest.raises(aiohttp.ClientPayloadError):
        await ranged.read()


async def test_download_status_fails_the_first_attempts_at_each_file_then_serves_it(client):
    first, second = await upload(client), await upload(client, b"other")
    fault = {"X-Mock-Fault": "download_status=502; attempts=2"}
    statuses = [(await client.get(first, headers=fault)).status for _ in range(3)]
    assert statuses == [502, 502, 200]
    failed = await client.get(second, headers=fault)
    assert failed.status == 502 and (await failed.json())["errors"][0]["code"] == "serverError"
    assert (await client.get(second, headers=fault)).status == 502
    assert (await client.get(second, headers=fault)).status == 200


async def test_a_throttled_body_is_cut_off_once_the_longest_wait_has_passed(client, monkeypatch):
    monkeypatch.setattr("mock_server.http.files.MAX_WAIT_SECONDS", 0.2)  # the cut, not its hour, is under test
    path = await upload(client)
    response = await client.get(path, headers={"X-Mock-Fault": "throttle=800"})  # 100 kB a second
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async for chunk in response.content.iter_any():
            received += chunk
    assert 0 < len(received) < SIZE and bytes(received) == BODY[: len(received)]


async def test_throttle_paces_the_body_at_its_rate(client):
    path = await upload(client)
    loop = asyncio.get_running_loop()
    kilobits = 40_000  # 5,000,000 bytes a second: 1 MiB in about 0.21 s
    started = loop.time()
    response = await client.get(path, headers={"X-Mock-Fault": f"throttle={kilobits}"})
    arrivals = []
    async for chunk in response.content.iter_any():
        arrivals.append((loop.time() - started, len(chunk)))
    assert sum(size for _, size in arrivals) == SIZE
    rate = kilobits * 1000 / 8
    # Each byte arrives no sooner than its place allows at the rate, less one step of the pacing.
    received = 0
    for at, size in arrivals:
        received += size
        assert at >= (received - rate * 0.05) / rate - 0.01
    assert arrivals[-1][0] < 10 * SIZE / rate  # and the whole is not held far longer


async def test_download_faults_set_by_rule_apply_to_the_files_of_the_task_named(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True)))
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers=HEADERS)
    dispatcher = client.app[DISPATCHER]
    await dispatcher.runner.idle()
    path = f"/videos/{dispatcher.store.get(task['taskUUID']).results[0].video_uuid}.mp4"
    rule = {"fault": "download_status=503", "taskUUID": task["taskUUID"], "times": 1}
    assert (await client.post("/__mock/faults", json=rule)).status == 201
    assert [(await client.get(path)).status for _ in range(2)] == [503, 200]
    other = {"fault": "cut_after=5", "taskUUID": str(uuid.uuid4())}
    await client.post("/__mock/faults", json=other)
    assert len(await (await client.get(path)).read()) > 5  # another task's rule: not this file's
    media_rule = {"fault": "download_status=500", "taskType": "mediaStorage", "times": 1}
    await client.post("/__mock/faults", json=media_rule)
    media = await upload(client)
    assert [(await client.get(media)).status for _ in range(2)] == [500, 200]


async def test_a_download_fault_asked_for_at_submission_is_carried_by_the_tasks_results(client):
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers={**HEADERS, "X-Mock-Fault": "cut_after=3"})
    dispatcher = client.app[DISPATCHER]
    await dispatcher.runner.idle()
    path = f"/videos/{dispatcher.store.get(task['taskUUID']).results[0].video_uuid}.mp4"
    response = await client.get(path)
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()


async def test_chaos_draws_download_faults_too(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True, chaos=1.0, seed=3)))
    dispatcher = client.app[DISPATCHER]
    dispatcher.faults.chaos = 0.0  # the upload itself goes through unfaulted
    path = await upload(client, b"x" * 70_000)
    dispatcher.faults.chaos = 1.0
    outcomes = set()
    for _ in range(12):
        try:
            response = await client.get(path)
            outcomes.add(response.status if response.status != 200 else len(await response.read()))
        except aiohttp.ClientPayloadError:
            outcomes.add("cut")
    assert "cut" in outcomes and outcomes & {500, 502, 503} and 70_000 in outcomes  # cut, failed, whole (throttled)


async def test_a_malformed_download_fault_is_a_400_naming_the_header(client):
    path = await upload(client)
    for text in (
        "throttle=0",
        "throttle=-1",
        "cut_after=1.5",
        "download_status=404",
        "download_status=502; attempts=0",
    ):
        response = await client.get(path, headers={"X-Mock-Fault": text})
        assert response.status == 400
        assert (await response.json())["errors"][0]["parameter"] == "X-Mock-Fault"


async def test_a_download_fault_asked_for_on_the_download_is_met_in_the_client_coverage(client):
    path = await upload(client)
    assert await (await client.get(path, headers={"X-Mock-Fault": "throttle=10000000"})).read() == BODY
    report = await (await client.get("/__mock/coverage")).json()
    met = {entry["name"] for entry in report["sections"]["faults"]["entries"] if entry["met"]}
    assert met == {"throttle"}
