"""Matching a client's requests with recorded ones: task content without taskUUIDs, polls by the recorded task the
client's UUID stands for, answers renamed to the client's UUIDs and result URLs made local."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mock_server.config import Settings
from mock_server.replay import Recordings, normalised
from mock_server.testing import BackgroundServer

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
    answer = recordings.answer(json.dumps(tasks).encode(), has_key=has_key, base_url=BASE)
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
    assert recordings.answer(b"not json", has_key=True, base_url=BASE) is None


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
}


@pytest.mark.parametrize("spoil", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_recording_is_one_line_and_exit_2_at_start(tmp_path, spoil):
    exchange = posted(submit("rec"), {"data": [{"taskUUID": "rec"}]})
    spoil(exchange)
    write_recording(tmp_path, [posted(poll("rec"), {"data": []}), exchange])
    run = subprocess.run(
        [sys.executable, "-m", "mock_server", "--replay", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, "Traceback" in run.stderr, len(run.stderr.splitlines())) == (2, False, 1), run.stderr
    assert f"{tmp_path / 'case.json'}: exchanges[1]" in run.stderr
