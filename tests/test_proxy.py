"""`--proxy URL --record DIR` in front of a second mock playing the real service, then `--replay DIR` with that
service gone: the client's flow gets the same answers and the same file, and the key is nowhere in DIR."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from contract_tests.client import ApiClient
from contract_tests.drift import main as drift_main
from contract_tests.targets import MediaServer, MediaSet
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.media import probe
from mock_server.recording import API_KEY_PLACEHOLDER, load_recordings, timestamp
from mock_server.testing import BackgroundServer
from tests.e2e.test_sdks import run_example, sdk_python
from tests.test_dispatcher import FakeClock

KEY = "proxy-test-key-1f6c0d0b"


@pytest.fixture(scope="module")
def media():
    with MediaServer() as server:
        yield MediaSet.under(server.base_url)


def lipsync_task(media: MediaSet, results: int = 1) -> dict:
    return {
        "taskType": "videoInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "sync:lipsync-2@1",
        "inputs": {"video": media.video, "audio": media.audio},
        "numberResults": results,
        "includeCost": True,
    }


# As a client polls: without a pause, a task's polls ran to a thousand, each recorded and replayed.
POLL_INTERVAL = 0.05


def client_flow(url: str, media: MediaSet) -> dict:
    """What a client application does: submit, poll to the outcome, download the file."""
    client = ApiClient(url, KEY)
    try:
        task = lipsync_task(media)
        acknowledged = client.submit(task)
        polls = []
        while not polls or polls[-1].data[0]["status"] == "processing":
            if polls:
                time.sleep(POLL_INTERVAL)
            polls.append(client.poll(task["taskUUID"]))
        item = polls[-1].data[0]
        with urllib.request.urlopen(item["videoURL"], timeout=10) as response:
            video = response.read()
        return {"task": task, "acknowledged": acknowledged, "polls": polls, "item": item, "video": video}
    finally:
        client.close()


def record(folder: Path, media: MediaSet, **settings) -> dict:
    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0.05)) as service,
        BackgroundServer(Settings(proxy=service.url, record=folder, **settings)) as proxy,
    ):
        run = client_flow(proxy.url, media)
        run["service"] = service.received()
    return run


def test_the_proxy_answers_with_the_service_and_records_the_task_with_its_file(tmp_path, media):
    run = record(tmp_path, media)
    assert run["acknowledged"].data == [{"taskType": "videoInference", "taskUUID": run["task"]["taskUUID"]}]
    assert run["item"]["status"] == "success" and run["item"]["cost"] == 0.044
    assert probe(run["video"]).video_codec == "h264"
    assert [t["taskType"] for t in run["service"]][:2] == ["videoInference", "getResponse"]

    [(_, recording)] = load_recordings(tmp_path)
    assert run["task"]["taskUUID"] in recording["case"]
    exchanges = recording["exchanges"]
    assert len(exchanges) == 1 + len(run["polls"]) + 1  # the submit, its polls, the file
    assert exchanges[0]["request"]["headers"]["Authorization"] == f"Bearer {API_KEY_PLACEHOLDER}"
    assert exchanges[0]["request"]["body"] == [run["task"]]
    assert [e["response"]["body"] for e in exchanges[1:-1]] == [poll.body for poll in run["polls"]]
    download = exchanges[-1]["download"]
    assert download["url"] == run["item"]["videoURL"] and download["media"]["videoCodec"] == "h264"
    assert (tmp_path / download["file"]).read_bytes() == run["video"]
    found = subprocess.run(["grep", "-rl", KEY, str(tmp_path)], capture_output=True, text=True, check=False)
    assert found.stdout == ""


def test_a_replay_answers_a_new_run_with_the_recording_and_serves_the_file(tmp_path, media):
    recorded = record(tmp_path, media)
    with BackgroundServer(Settings(replay=tmp_path)) as replay:
        run = client_flow(replay.url, media)
        assert replay.dispatcher.store.all_tasks() == []  # answered from the recording: the mock ran nothing
    assert run["task"]["taskUUID"] != recorded["task"]["taskUUID"]
    assert run["acknowledged"].data == [{"taskType": "videoInference", "taskUUID": run["task"]["taskUUID"]}]
    assert len(run["polls"]) == len(recorded["polls"])
    for now, then in zip(run["polls"], recorded["polls"], strict=True):
        assert [i["taskUUID"] for i in now.data] == [run["task"]["taskUUID"]] * len(then.data)
        assert [i["status"] for i in now.data] == [i["status"] for i in then.data]
    assert {k: v for k, v in run["item"].items() if k not in ("taskUUID", "videoURL")} == {
        k: v for k, v in recorded["item"].items() if k not in ("taskUUID", "videoURL")
    }
    assert run["item"]["videoURL"].startswith(replay.base_url + "/recorded/")
    assert run["video"] == recorded["video"]


def test_a_replay_walks_each_clients_task_on_its_own_and_the_last_answer_repeats(tmp_path, media):
    recorded = record(tmp_path, media)
    with BackgroundServer(Settings(replay=tmp_path)) as replay:
        client = ApiClient(replay.url, KEY)
        first, second = lipsync_task(media), lipsync_task(media)
        client.submit(first)
        client.submit(second)
        walked = [client.poll(first["taskUUID"]).data[0]["status"] for _ in range(len(recorded["polls"]) + 2)]
        assert walked[-3:] == ["success"] * 3
        assert client.poll(second["taskUUID"]).body["data"][0]["status"] == recorded["polls"][0].data[0]["status"]
        client.close()


def test_a_replay_leaves_what_was_not_recorded_to_the_mock(tmp_path, media):
    record(tmp_path, media)
    with BackgroundServer(Settings(replay=tmp_path, processing_rate=0)) as replay:
        client = ApiClient(replay.url, KEY)
        task = {**lipsync_task(media), "outputFormat": "WEBM"}  # not what was recorded
        client.submit(task)
        [item] = client.wait_for_results(task["taskUUID"], 1)
        assert item["videoURL"].startswith(replay.base_url + "/videos/")
        assert client.poll(str(uuid.uuid4())).body == {"data": []}  # an unknown task, answered by the mock
        client.close()
        assert replay.received(task["taskUUID"])[0]["taskType"] == "videoInference"


def test_a_proxy_recording_is_a_drift_case_too(tmp_path, media, capsys):
    record(tmp_path, media)
    with BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0.05)) as mock:
        assert drift_main([str(tmp_path), "--target", mock.url, "--api-key", KEY]) == 0
    assert "no drift: 1 cases" in capsys.readouterr().out


def test_the_proxy_reaches_only_its_service_and_allowed_hosts(tmp_path, media, caplog):
    # The service hands out result URLs on a host the allow-list does not admit: the file is not fetched.
    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0, public_url="http://files.example")) as service,
        BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy,
    ):
        client = ApiClient(proxy.url, KEY)
        task = lipsync_task(media)
        client.submit(task)
        [item] = client.wait_for_results(task["taskUUID"], 1)
        client.close()
    assert item["videoURL"].startswith("http://files.example/")
    [(_, recording)] = load_recordings(tmp_path)
    assert not any("download" in e for e in recording["exchanges"])
    assert "--allow-host files.example" in caplog.text and KEY not in caplog.text


def test_a_request_naming_no_task_is_a_case_of_its_own_and_an_unreachable_service_a_502(tmp_path):
    with BackgroundServer(Settings(api_keys=(KEY,))) as service:
        with BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy:
            client = ApiClient(proxy.url, KEY)
            answer = client.post_raw(b"not json")
            assert answer.status == 400 and answer.errors[0]["code"] == "invalidRequestBody"
            client.close()
        with BackgroundServer(Settings(proxy="http://127.0.0.1:9/v1", record=tmp_path)) as proxy:
            client = ApiClient(proxy.url, KEY)
            assert client.post([lipsync_task(MediaSet.under("http://127.0.0.1:9"))]).status == 502
            client.close()
    [(_, recording)] = load_recordings(tmp_path)
    assert recording["exchanges"][0]["request"]["bodyText"] == "not json"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"record": Path("x")}, "give both"),
        ({"proxy": "http://127.0.0.1:1/v1", "replay": Path("x")}, "exclude each other"),
        ({"replay": Path("/nonexistent-folder")}, "not a folder"),
    ],
)
def test_settings_that_do_not_go_together_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        create_app(Settings(**settings))


def test_the_recorded_authentication_task_key_is_scrubbed_too(tmp_path, media):
    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0.05)) as service,
        BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy,
    ):
        client = ApiClient(proxy.url, None)
        task = lipsync_task(media)
        answer = client.post([{"taskType": "authentication", "apiKey": KEY}, task])
        client.close()
    assert answer.data[-1]["taskUUID"] == task["taskUUID"]
    [(_, recording)] = load_recordings(tmp_path)
    assert recording["exchanges"][0]["request"]["body"][0]["apiKey"] == API_KEY_PLACEHOLDER
    assert KEY not in json.dumps(recording)


@pytest.mark.sdks
def test_an_sdk_session_round_trips(tmp_path, media):
    python = sdk_python("runware-sdk")
    arguments = ["--transport", "rest", "--api-key", KEY, "--video", media.video, "--audio", media.audio]
    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0.05)) as service,
        BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy,
    ):
        recorded = run_example(python, "runware_sdk.py", "--url", proxy.base_url, *arguments)
    with BackgroundServer(Settings(replay=tmp_path)) as replay:
        replayed = run_example(python, "runware_sdk.py", "--url", replay.base_url, *arguments)
        assert replay.dispatcher.store.all_tasks() == []
        for result in replayed:
            with urllib.request.urlopen(result["videoURL"], timeout=10) as response:
                assert probe(response.read()).video_codec == "h264"
    drop = ("taskUUID", "videoURL")
    assert [{k: v for k, v in r.items() if k not in drop} for r in replayed] == [
        {k: v for k, v in r.items() if k not in drop} for r in recorded
    ]


async def test_websocket_frames_are_relayed_both_ways_and_recorded_with_the_key_scrubbed(tmp_path, media):
    import aiohttp

    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0)) as service,
        BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy,
    ):
        task = lipsync_task(media)
        async with aiohttp.ClientSession() as session, session.ws_connect(proxy.url.replace("http", "ws")) as socket:
            await socket.send_json([{"taskType": "authentication", "apiKey": KEY}])
            session_item = (await socket.receive_json())["data"][0]
            await socket.send_json([task])
            assert (await socket.receive_json())["data"][0]["taskUUID"] == task["taskUUID"]
            await socket.send_json([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            item = (await socket.receive_json(timeout=30))["data"][0]
    assert session_item["taskType"] == "authentication" and "connectionSessionUUID" in session_item
    assert item["status"] == "success"
    assert load_recordings(tmp_path) == []  # WebSocket conversations are not REST exchanges
    [conversation] = (tmp_path / "websocket").glob("*.json")
    frames = json.loads(conversation.read_text())["frames"]
    assert [f["frame"]["from"] for f in frames if "frame" in f] == ["client", "server"] * 3
    assert frames[0]["frame"]["body"] == [{"taskType": "authentication", "apiKey": API_KEY_PLACEHOLDER}]
    assert frames[-1]["download"]["url"] == item["videoURL"]
    assert (tmp_path / frames[-1]["download"]["file"]).is_file()
    found = subprocess.run(["grep", "-rl", KEY, str(tmp_path)], capture_output=True, text=True, check=False)
    assert found.stdout == ""


@pytest.mark.sdks
def test_an_sdk_session_over_websocket_passes_through_the_proxy(tmp_path, media):
    python = sdk_python("runware-sdk")
    arguments = ["--transport", "websocket", "--api-key", KEY, "--video", media.video, "--audio", media.audio]
    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0.05)) as service,
        BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy,
    ):
        results = run_example(python, "runware_sdk.py", "--url", proxy.base_url, *arguments)
    assert len(results) == 2 and all(r["status"] == "success" for r in results)
    assert len(list((tmp_path / "files").iterdir())) == 2
    found = subprocess.run(["grep", "-rl", KEY, str(tmp_path)], capture_output=True, text=True, check=False)
    assert found.stdout == ""


def slow_service(received: list, processing_polls: int = 3) -> web.Application:
    """The real service, played on loopback: each task answers processing for its first polls, then success with a
    file of its own."""
    polled: Counter[str] = Counter()

    async def tasks(request: web.Request) -> web.Response:
        [task] = await request.json()
        received.append(task)
        if task["taskType"] != "getResponse":
            return web.json_response({"data": [{"taskType": task["taskType"], "taskUUID": task["taskUUID"]}]})
        polled[task["taskUUID"]] += 1
        item = {"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "processing"}
        if polled[task["taskUUID"]] > processing_polls:
            item |= {"status": "success", "videoURL": f"http://{request.host}/r.mp4"}
        return web.json_response({"data": [item]})

    async def result(_: web.Request) -> web.Response:
        return web.Response(body=b"result file", content_type="video/mp4")

    app = web.Application()
    app.router.add_post("/v1", tasks)
    app.router.add_get("/r.mp4", result)
    return app


def short_task(**parameters) -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "sync:lipsync-2@1", **parameters}


async def post(client, tasks: list) -> dict:
    answer = await client.post("/v1", json=tasks, headers={"Authorization": f"Bearer {KEY}"})
    return await answer.json()


async def poll_item(client, task: dict) -> dict:
    return (await post(client, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]))["data"][0]


async def test_a_recorded_slow_task_replays_at_its_pace(aiohttp_client, aiohttp_server, tmp_path):
    service = await aiohttp_server(slow_service([]))
    clock = FakeClock()
    settings = Settings(proxy=str(service.make_url("/v1")), record=tmp_path, quiet=True)
    proxy = await aiohttp_client(create_app(settings, clock=clock))
    task, submitted = short_task(), clock.now
    await post(proxy, [task])
    for seconds in (10, 20, 30, 40):  # the service answers processing three times, then success
        clock.now = submitted + seconds
        item = await poll_item(proxy, task)
    assert item["status"] == "success"
    [(_, recording)] = load_recordings(tmp_path)
    kept = [e["at"] for e in recording["exchanges"] if "request" in e]
    assert kept == [timestamp(submitted + seconds) for seconds in (0, 10, 20, 30, 40)]

    clock = FakeClock()
    replay = await aiohttp_client(create_app(Settings(replay=tmp_path, replay_speed=1, quiet=True), clock=clock))
    again, submitted = short_task(), clock.now
    await post(replay, [again])
    clock.now = submitted + 39.99
    assert (await poll_item(replay, again))["status"] == "processing"
    clock.now = submitted + 40
    done = await poll_item(replay, again)
    assert done["status"] == "success" and done["taskUUID"] == again["taskUUID"]
    assert await (await replay.get(done["videoURL"].removeprefix(f"http://{replay.host}:{replay.port}"))).read() == (
        b"result file"
    )


async def test_record_mode_new_answers_what_the_folder_holds_and_records_only_the_rest(
    aiohttp_client, aiohttp_server, tmp_path
):
    received: list = []
    service = await aiohttp_server(slow_service(received, processing_polls=1))
    folder = tmp_path / "recording"  # not there yet: the first run makes it and forwards everything
    settings = Settings(proxy=str(service.make_url("/v1")), record=folder, record_mode="new", quiet=True)

    async def run(client, task: dict) -> list[str]:
        await post(client, [task])
        return [(await poll_item(client, task))["status"] for _ in range(3)]

    first = await aiohttp_client(create_app(settings))
    assert await run(first, short_task()) == ["processing", "success", "success"]
    assert len(received) == 4
    [(path, _)] = load_recordings(folder)
    before = path.read_text()

    second = await aiohttp_client(create_app(settings))
    assert await run(second, short_task()) == ["processing", "success", "success"]
    assert len(received) == 4  # the same task, answered from the folder: the service was not asked
    new_task = short_task(outputFormat="WEBM")
    assert await run(second, new_task) == ["processing", "success", "success"]
    assert [task["taskUUID"] for task in received[4:]] == [new_task["taskUUID"]] * 4
    assert path.read_text() == before  # what the folder held is left as it was
    assert sorted(len(r["exchanges"]) for _, r in load_recordings(folder)) == [5, 5]  # submit, 3 polls, the file


async def test_a_websocket_conversation_recorded_by_the_proxy_replays_without_the_service(tmp_path, media):
    import aiohttp

    async def converse(url: str) -> list[dict]:
        task = lipsync_task(media)
        poll = {"taskType": "getResponse", "taskUUID": task["taskUUID"]}
        frames = [[{"taskType": "authentication", "apiKey": KEY}], [task], [poll]]
        answers = []
        async with aiohttp.ClientSession() as session, session.ws_connect(url.replace("http", "ws")) as socket:
            for sent in frames:
                await socket.send_json(sent)
                answers.append(await socket.receive_json(timeout=30))
        return [task, *answers]

    with (
        BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0)) as service,
        BackgroundServer(Settings(proxy=service.url, record=tmp_path)) as proxy,
    ):
        _, *recorded = await converse(proxy.url)
    with BackgroundServer(Settings(replay=tmp_path, record_mode="none")) as replay:
        task, authenticated, acknowledged, polled = await converse(replay.url)
        assert replay.dispatcher.store.all_tasks() == []
        [item] = polled["data"]
        assert item["videoURL"].startswith(replay.base_url + "/recorded/")
        with urllib.request.urlopen(item["videoURL"], timeout=10) as response:
            assert probe(response.read()).video_codec == "h264"
    assert authenticated == recorded[0]
    assert acknowledged["data"] == [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]
    assert item["status"] == "success" and item["taskUUID"] == task["taskUUID"]
