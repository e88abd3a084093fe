"""Matching a client's requests with recorded ones: task content without taskUUIDs, polls by the recorded task the
client's UUID stands for, answers renamed to the client's UUIDs and result URLs made local."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.http.app_keys import DISPATCHER
from mock_server.recording import timestamp
from mock_server.replay import UNREADABLE, Recordings, normalised
from mock_server.testing import BackgroundServer
from tests.test_dispatcher import FakeClock

BASE = "http://127.0.0.1:9000"


def write_recording(folder: Path, exchanges: list) -> None:
    (folder / "files").mkdir(exist_ok=True)
    (folder / "files" / "r.mp4").write_bytes(b"video")
    (folder / "case.json").write_text(json.dumps({"case": "c", "exchanges": exchanges}))


def posted(tasks: list, answer: dict, status: int = 200) -> dict:
    return {
        "request": {"method": "POST", "headers": {"Authorization": "Bearer <api-key>"}, "body": tasks},
        "response": {"status": status, "headers": {"Content-Type": "application/json"}, "body": answer},
    }


def submit(uuid: str) -> list:
    return [{"taskType": "videoInference", "taskUUID": uuid, "model": "sync:lipsync-2@1"}]


def poll(uuid: str) -> list:
    return [{"taskType": "getResponse", "taskUUID": uuid}]


@pytest.fixture
def recordings(tmp_path):
    done = {"taskUUID": "rec", "status": "success", "videoURL": "https://cdn/r.mp4"}
    write_recording(
        tmp_path,
        [
            posted(submit("rec"), {"data": [{"taskUUID": "rec"}]}),
            posted(poll("rec"), {"data": [{"taskUUID": "rec", "status": "processing"}]}),
            posted(poll("rec"), {"data": [done]}),
            {"download": {"url": "https://cdn/r.mp4", "contentType": "video/mp4", "file": "files/r.mp4"}},
            {"download": {"url": "https://cdn/x.mp4", "file": "../../etc/passwd"}},
        ],
    )
    return Recordings(tmp_path)


def ask(recordings: Recordings, tasks: list, has_key: bool = True) -> dict | None:
    answer = recordings.answer(json.dumps(tasks).encode(), tasks, has_key=has_key, base_url=BASE)
    return None if answer is None else json.loads(answer.body)


def test_normalised_leaves_out_new_taskuuids_and_keys_and_names_polled_tasks_by_the_recorded_one():
    tasks = [{"taskType": "authentication", "apiKey": "k"}, *submit("new"), *poll("mine")]
    assert normalised(tasks, {"mine": "rec"}.__getitem__) == [
        {"taskType": "authentication", "apiKey": "<api-key>"},
        {"taskType": "videoInference", "model": "sync:lipsync-2@1"},
        {"taskType": "getResponse", "taskUUID": "rec"},
    ]


def test_a_new_run_walks_the_recorded_polls_under_its_own_taskuuid(recordings):
    assert ask(recordings, submit("mine")) == {"data": [{"taskUUID": "mine"}]}
    assert ask(recordings, poll("mine"))["data"][0] == {"taskUUID": "mine", "status": "processing"}
    done = ask(recordings, poll("mine"))["data"][0]
    assert done["taskUUID"] == "mine" and done["videoURL"] == f"{BASE}/recorded/r.mp4"
    assert ask(recordings, poll("mine"))["data"][0]["status"] == "success"  # the last answer repeats


def test_what_was_not_recorded_is_left_to_the_mock(recordings):
    assert ask(recordings, submit("mine"), has_key=False) is None
    assert ask(recordings, [{**submit("mine")[0], "model": "other"}]) is None
    assert ask(recordings, poll("never-submitted")) is None
    assert recordings.answer(b"not json", UNREADABLE, has_key=True, base_url=BASE) is None


def test_only_files_inside_the_folder_are_served(recordings, tmp_path):
    assert set(recordings.files) == {"r.mp4"}
    assert recordings.files["r.mp4"].path == tmp_path / "files" / "r.mp4"


def test_a_result_file_linked_out_of_the_recording_is_not_served(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0")
    folder = tmp_path / "recording"
    folder.mkdir()
    write_recording(
        folder,
        [
            {"download": {"url": "https://cdn/e.mp4", "file": "files/e.mp4"}},
            {"download": {"url": "https://cdn/l.mp4", "file": "files/l.mp4"}},
        ],
    )
    (folder / "files" / "e.mp4").symlink_to(outside)
    (folder / "files" / "l.mp4").symlink_to(folder / "files" / "r.mp4")  # a link that stays inside is served
    assert set(Recordings(folder).files) == {"r.mp4"}

    with BackgroundServer(Settings(replay=folder, quiet=True)) as server:
        assert status_of(f"{server.base_url}/recorded/e.mp4") == 404
        assert status_of(f"{server.base_url}/recorded/r.mp4") == 200


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_recorded_headers_that_would_frame_the_body_are_not_sent(tmp_path):
    exchange = posted(submit("rec"), {"data": [{"taskUUID": "rec"}]})
    exchange["response"]["headers"] |= {
        "Content-Length": "99999",
        "Transfer-Encoding": "chunked",
        "Connection": "keep-alive",
        "Retry-After": "3",
    }
    write_recording(tmp_path, [exchange])
    with BackgroundServer(Settings(replay=tmp_path, quiet=True)) as server:
        request = urllib.request.Request(
            server.url, data=json.dumps(submit("mine")).encode(), headers={"Authorization": "Bearer k"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read()) == {"data": [{"taskUUID": "mine"}]}
            assert answer.headers["Retry-After"] == "3" and answer.headers["Transfer-Encoding"] is None


MALFORMED = {
    "status 99": lambda e: e["response"].update(status=99),
    'status "abc"': lambda e: e["response"].update(status="abc"),
    "status true": lambda e: e["response"].update(status=True),
    "a CRLF in a header": lambda e: e["response"]["headers"].update({"Content-Type": "text/plain\r\nX-Evil: 1"}),
    "headers a list": lambda e: e["request"].update(headers=["Authorization"]),
    "a request that is a string": lambda e: e.update(request="POST /v1"),
    "bodyBase64 not base64": lambda e: e["response"].update(bodyBase64="!!!", body=None) or e["response"].pop("body"),
    "bodyText a number": lambda e: e["request"].update(bodyText=12),
    "a download url that is a number": lambda e: e.clear() or e.update(download={"url": 3, "file": "files/r.mp4"}),
    "at not a moment": lambda e: e.update(at="yesterday"),
    "at without its UTC offset": lambda e: e.update(at="2025-06-01T22:10:01"),
    "at a number": lambda e: e.update(at=1700000000),
}


@pytest.mark.parametrize("spoil", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_recording_is_one_line_and_exit_2_at_start(tmp_path, spoil, refused_at_start):
    exchange = posted(submit("rec"), {"data": [{"taskUUID": "rec"}]})
    spoil(exchange)
    write_recording(tmp_path, [posted(poll("rec"), {"data": []}), exchange])
    status, stderr = refused_at_start("--replay", str(tmp_path))
    assert (status, len(stderr.splitlines())) == (2, 1), stderr
    assert stderr.startswith(f"lipsync-mock: {tmp_path / 'case.json'}: exchanges[1]"), stderr


def test_the_command_refuses_a_malformed_recording_in_one_line_without_a_traceback(tmp_path):
    exchange = posted(submit("rec"), {"data": [{"taskUUID": "rec"}]})
    MALFORMED["status true"](exchange)
    write_recording(tmp_path, [exchange])
    run = run_mock("--replay", str(tmp_path))
    assert (run.returncode, "Traceback" in run.stderr, len(run.stderr.splitlines())) == (2, False, 1), run.stderr
    assert f"{tmp_path / 'case.json'}: exchanges[0]" in run.stderr


T0 = 1_700_000_000.0  # when the recorded task was submitted


def at(seconds: float) -> str:
    return timestamp(T0 + seconds)


def timed(exchange: dict, seconds: float) -> dict:
    return {"at": at(seconds), **exchange}


def slow_task(folder: Path, polled_at: tuple[float, ...] = (5, 10, 20, 30, 40), done_at: float = 40) -> None:
    """A recorded task acknowledged at 0 s, answering processing at each poll before `done_at`, success after."""
    exchanges = [timed(posted(submit("rec"), {"data": [{"taskUUID": "rec"}]}), 0)]
    for seconds in polled_at:
        status = "success" if seconds >= done_at else "processing"
        exchanges.append(timed(posted(poll("rec"), {"data": [{"taskUUID": "rec", "status": status}]}), seconds))
    write_recording(folder, exchanges)


async def replaying(aiohttp_client, folder: Path, clock: FakeClock, **settings):
    return await aiohttp_client(create_app(Settings(replay=folder, quiet=True, **settings), clock=clock))


async def status_at(client, clock: FakeClock, submitted: float, seconds: float) -> str:
    clock.now = submitted + seconds
    answer = await client.post("/v1", json=poll("mine"), headers={"Authorization": "Bearer k"})
    body = await answer.json()
    return body["data"][0]["status"] if "data" in body else body["errors"][0]["code"]


async def submitted_now(client, clock: FakeClock) -> float:
    answer = await client.post("/v1", json=submit("mine"), headers={"Authorization": "Bearer k"})
    assert (await answer.json()) == {"data": [{"taskUUID": "mine"}]}
    return clock.now


@pytest.mark.parametrize(("speed", "done"), [(1, 40.0), (2, 20.0), (0.5, 80.0)])
async def test_a_recorded_slow_task_answers_processing_as_long_as_it_took_over_the_speed(
    aiohttp_client, tmp_path, speed, done
):
    slow_task(tmp_path)
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock, replay_speed=speed)
    submitted = await submitted_now(client, clock)
    assert await status_at(client, clock, submitted, 0.5) == "processing"  # before the first recorded poll
    assert await status_at(client, clock, submitted, done - 0.01) == "processing"
    assert await status_at(client, clock, submitted, done) == "success"
    assert await status_at(client, clock, submitted, done * 10) == "success"


async def test_polled_as_often_as_it_likes_a_paced_task_stays_processing_until_its_time(aiohttp_client, tmp_path):
    slow_task(tmp_path)
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock, replay_speed=1)
    submitted = await submitted_now(client, clock)
    assert [await status_at(client, clock, submitted, 1) for _ in range(20)] == ["processing"] * 20


async def test_unpaced_by_default_each_poll_takes_the_next_recorded_answer(aiohttp_client, tmp_path):
    slow_task(tmp_path)
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock)
    submitted = await submitted_now(client, clock)
    walked = [await status_at(client, clock, submitted, 0) for _ in range(5)]
    assert walked == ["processing"] * 4 + ["success"]


async def test_a_recording_that_kept_no_times_replays_unpaced_at_any_speed(aiohttp_client, tmp_path):
    slow_task(tmp_path)
    recording = json.loads((tmp_path / "case.json").read_text())
    for exchange in recording["exchanges"]:
        del exchange["at"]
    (tmp_path / "case.json").write_text(json.dumps(recording))
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock, replay_speed=1)
    submitted = await submitted_now(client, clock)
    assert [await status_at(client, clock, submitted, 0) for _ in range(5)] == ["processing"] * 4 + ["success"]


async def test_two_paced_tasks_each_run_from_their_own_submission(aiohttp_client, tmp_path):
    slow_task(tmp_path)
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock, replay_speed=1)
    first = await submitted_now(client, clock)
    clock.now += 30
    answer = await client.post("/v1", json=submit("later"), headers={"Authorization": "Bearer k"})
    assert (await answer.json())["data"][0]["taskUUID"] == "later"
    clock.now = first + 40
    later = await client.post("/v1", json=poll("later"), headers={"Authorization": "Bearer k"})
    assert (await later.json())["data"][0]["status"] == "processing"  # 10 s in
    assert await status_at(client, clock, first, 40) == "success"


async def test_under_record_mode_none_what_was_not_recorded_is_refused_naming_what_differs(aiohttp_client, tmp_path):
    slow_task(tmp_path)
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock, record_mode="none")
    other = [{**submit("mine")[0], "model": "other:model@1"}]
    answer = await client.post("/v1", json=other, headers={"Authorization": "Bearer k"})
    [error] = (await answer.json())["errors"]
    assert answer.status == 400 and error["code"] == "notRecorded" and error["parameter"] == "model"
    assert '"other:model@1"' in error["message"] and '"sync:lipsync-2@1"' in error["message"]
    assert "case.json" not in error["message"] and "in c," in error["message"]  # the case, not a path

    answer = await client.post("/v1", json=submit("mine"))  # no key, where the recording had one
    [error] = (await answer.json())["errors"]
    assert (error["code"], error["parameter"]) == ("notRecorded", "Authorization")

    answer = await client.post("/v1", json=poll("never-submitted"), headers={"Authorization": "Bearer k"})
    [error] = (await answer.json())["errors"]
    assert (error["code"], error["parameter"], error["taskUUID"]) == ("notRecorded", "taskUUID", "never-submitted")

    answer = await client.post("/v1", data=b"not json", headers={"Authorization": "Bearer k"})
    assert (await answer.json())["errors"][0]["code"] == "notRecorded"
    assert client.app[DISPATCHER].store.all_tasks() == []  # the mock ran nothing

    submitted = await submitted_now(client, clock)  # what was recorded still answers
    assert await status_at(client, clock, submitted, 0) == "processing"


def run_mock(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--record-mode", "new", "--replay", "."], "--record-mode new records what --proxy URL forwards"),
        (["--record-mode", "all"], "--record-mode all records what --proxy URL forwards"),
        (["--record-mode", "none", "--proxy", "http://127.0.0.1:9/v1", "--record", "x"], "never reaches"),
        (["--record-mode", "none"], "give --replay DIR"),
        (["--record-mode", "sometimes"], "must be one of all, new, none"),
        (["--replay-speed", "1"], "--replay-speed paces a replay"),
        (["--replay-speed", "-0.001", "--replay", "."], "at least 0"),
    ],
)
def test_recording_flags_that_do_not_go_together_are_one_line_and_exit_2(arguments, message, refused_at_start):
    status, stderr = refused_at_start(*arguments)
    last = stderr.strip().splitlines()[-1]  # after argparse's usage, for a value it refuses
    assert status == 2 and last.startswith("lipsync-mock: ") and message in last, stderr


def test_the_replay_speed_takes_0_and_record_mode_none_with_replay(tmp_path):
    slow_task(tmp_path)
    with BackgroundServer(Settings(replay=tmp_path, replay_speed=0.0, record_mode="none", quiet=True)) as server:
        request = urllib.request.Request(
            server.url, data=json.dumps(submit("mine")).encode(), headers={"Authorization": "Bearer k"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read()) == {"data": [{"taskUUID": "mine"}]}


def frame(side: str, body, seconds: float) -> dict:
    return {"at": at(seconds), "frame": {"from": side, "body": body}}


def write_conversation(folder: Path, frames: list) -> None:
    (folder / "websocket").mkdir(parents=True, exist_ok=True)
    (folder / "websocket" / "conversation.json").write_text(json.dumps({"case": "ws", "frames": frames}))


def pushed_result(folder: Path) -> None:
    """A recorded session: authenticated, a task acknowledged at 1.2 s and its result pushed at 31 s."""
    (folder / "files").mkdir(exist_ok=True)
    (folder / "files" / "r.mp4").write_bytes(b"video")
    done = {"taskType": "videoInference", "taskUUID": "rec", "status": "success", "videoURL": "https://cdn/r.mp4"}
    write_conversation(
        folder,
        [
            frame("client", [{"taskType": "authentication", "apiKey": "<api-key>"}], 0),
            frame("server", {"data": [{"taskType": "authentication", "connectionSessionUUID": "s-1"}]}, 0.1),
            frame("client", submit("rec"), 1),
            frame("server", {"data": [{"taskType": "videoInference", "taskUUID": "rec"}]}, 1.2),
            frame("server", {"data": [done]}, 31),
            {"download": {"url": "https://cdn/r.mp4", "contentType": "video/mp4", "file": "files/r.mp4"}},
        ],
    )


PONG = {"data": [{"taskType": "ping", "pong": True}]}


async def read_by_the_server(socket) -> None:
    """Once this returns, the server has read every frame sent before: a ping the recording does not hold is
    answered by the mock's session at once, after the frames before it, while paced frames wait their time."""
    await socket.send_json([{"taskType": "ping", "ping": True}])
    assert (await socket.receive_json(timeout=5)) == PONG


async def test_a_websocket_session_replays_its_pushed_result_at_the_recorded_pace(aiohttp_client, tmp_path):
    pushed_result(tmp_path)
    clock = FakeClock()
    client = await replaying(aiohttp_client, tmp_path, clock, replay_speed=2)
    async with client.ws_connect("/v1") as socket:
        await socket.send_json([{"taskType": "authentication", "apiKey": "my-key"}])
        await read_by_the_server(socket)
        clock.now += 0.05  # the answer came 0.1 s after: 0.05 s at twice the pace
        assert (await socket.receive_json(timeout=5))["data"][0]["connectionSessionUUID"] == "s-1"
        asked = clock.now
        await socket.send_json(submit("mine"))
        await read_by_the_server(socket)
        clock.now = asked + 0.1  # the acknowledgment came 0.2 s after the task
        assert (await socket.receive_json(timeout=5))["data"][0]["taskUUID"] == "mine"
        clock.now = asked + 14.99  # the result came 30 s after the task: 15 s at twice the pace
        await read_by_the_server(socket)  # the pong comes first: the result is not due
        clock.now = asked + 15
        [item] = (await socket.receive_json(timeout=5))["data"]
    assert item["taskUUID"] == "mine" and item["status"] == "success"
    assert item["videoURL"] == f"http://{client.host}:{client.port}/recorded/r.mp4"
    assert (await (await client.get("/recorded/r.mp4")).read()) == b"video"


async def authenticate(socket) -> None:
    await socket.send_json([{"taskType": "authentication", "apiKey": "my-key"}])
    assert "connectionSessionUUID" in (await socket.receive_json(timeout=5))["data"][0]


async def test_unpaced_a_websocket_frame_gets_all_its_recorded_frames_in_order_at_once(aiohttp_client, tmp_path):
    pushed_result(tmp_path)
    client = await replaying(aiohttp_client, tmp_path, FakeClock())
    async with client.ws_connect("/v1") as socket:
        await authenticate(socket)
        await socket.send_json(submit("mine"))
        acknowledged, pushed = [(await socket.receive_json(timeout=5))["data"][0] for _ in range(2)]
    assert (acknowledged, pushed["status"]) == ({"taskType": "videoInference", "taskUUID": "mine"}, "success")


async def test_after_a_replayed_authentication_the_mock_answers_what_is_not_recorded(aiohttp_client, tmp_path):
    pushed_result(tmp_path)
    client = await replaying(aiohttp_client, tmp_path, FakeClock())
    async with client.ws_connect("/v1") as socket:
        await authenticate(socket)
        await socket.send_json(poll(str(uuid.uuid4())))  # a task neither the recording nor the mock knows
        assert (await socket.receive_json(timeout=5)) == {"data": []}  # the mock's answer, not missingApiKey


async def test_under_record_mode_none_a_websocket_frame_not_recorded_is_refused(aiohttp_client, tmp_path):
    pushed_result(tmp_path)
    client = await replaying(aiohttp_client, tmp_path, FakeClock(), record_mode="none")
    async with client.ws_connect("/v1") as socket:
        await socket.send_json([{"taskType": "ping", "ping": True}])
        [error] = (await socket.receive_json(timeout=5))["errors"]
        assert error["code"] == "notRecorded" and "in ws," in error["message"]
        await socket.send_json([{**submit("mine")[0], "outputFormat": "WEBM"}])
        [error] = (await socket.receive_json(timeout=5))["errors"]
        assert (error["code"], error["parameter"]) == ("notRecorded", "outputFormat")
    assert client.app[DISPATCHER].store.all_tasks() == []


CONVERSATION_MALFORMED = {
    "a frame from nobody": frame("proxy", [], 0),
    "a frame at no moment": {**frame("client", [], 0), "at": "soon"},
    "a frame that is a list": [],
    "a frame with a CRLF in a header": {"frame": {"from": "server", "headers": {"X": "a\r\nb"}, "body": {}}},
}


@pytest.mark.parametrize("entry", CONVERSATION_MALFORMED.values(), ids=CONVERSATION_MALFORMED.keys())
def test_a_malformed_websocket_conversation_is_one_line_and_exit_2_at_start(tmp_path, entry, refused_at_start):
    write_conversation(tmp_path, [frame("client", [], 0), entry])
    status, stderr = refused_at_start("--replay", str(tmp_path))
    assert (status, len(stderr.splitlines())) == (2, 1), stderr
    assert stderr.startswith(f"lipsync-mock: {tmp_path / 'websocket' / 'conversation.json'}: frames[1]"), stderr


DEEP = ("[" * 980 + "]" * 980).encode()  # read by the mock's reader, too deep to write out again
MANY_VALUES = json.dumps([{"taskType": "getResponse", "v": list(range(30_000))}]).encode()  # past body.MAX_VALUES


@pytest.mark.parametrize(
    ("body", "mode", "code"),
    [
        (DEEP, "none", "notRecorded"),
        (DEEP, None, "invalidRequestBody"),
        (MANY_VALUES, "none", "notRecorded"),
        (MANY_VALUES, None, "invalidRequestBody"),
    ],
)
async def test_a_hostile_body_is_refused_by_a_replay_as_by_the_mock_never_with_a_500(
    aiohttp_client, tmp_path, body, mode, code
):
    slow_task(tmp_path)
    client = await replaying(aiohttp_client, tmp_path, FakeClock(), record_mode=mode)
    answer = await client.post("/v1", data=body, headers={"Authorization": "Bearer k"})
    assert (answer.status, (await answer.json())["errors"][0]["code"]) == (400, code)
