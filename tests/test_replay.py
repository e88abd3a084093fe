"""Matching a client's requests with recorded ones: task content without taskUUIDs, polls by the recorded task the
client's UUID stands for, answers renamed to the client's UUIDs and result URLs made local."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mock_server.replay import Recordings, normalised

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
