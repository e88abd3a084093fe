"""The proxy's recorder: cases per task, keys scrubbed wherever they are, result files kept under plain names."""

from __future__ import annotations

import json

from contract_tests.recording import API_KEY_PLACEHOLDER, load_recordings
from mock_server.recorder import ExchangeRecorder, client_keys, success_urls

KEY, OTHER_KEY = "recorder-key-0123456789", "second-key-9876543210"


def exchange(recorder: ExchangeRecorder, tasks: list, answer: dict, keys: list[str] | None = None):
    keys = [KEY] if keys is None else keys
    body = json.dumps(tasks).encode()
    return recorder.add_exchange(
        body,
        {"Authorization": f"Bearer {KEY}"},
        200,
        {"Content-Type": "application/json"},
        json.dumps(answer).encode(),
        keys,
    )


def test_the_keys_of_a_request_are_its_bearer_key_and_its_authentication_tasks():
    body = json.dumps([{"taskType": "authentication", "apiKey": OTHER_KEY}, {"taskType": "ping"}]).encode()
    assert client_keys(f"Bearer {KEY}", body) == [KEY, OTHER_KEY]
    assert client_keys(None, b"not json") == []


def test_success_urls_are_the_result_files_of_finished_items():
    answer = {"data": [{"status": "processing"}, {"status": "success", "videoURL": "http://x/a.mp4"}]}
    assert success_urls(json.dumps(answer)) == ["http://x/a.mp4"]
    assert success_urls(b"{") == []


def test_a_task_and_its_polls_are_one_case_and_other_requests_cases_of_their_own(tmp_path):
    recorder = ExchangeRecorder(tmp_path, "http://service/v1")
    submitted = exchange(recorder, [{"taskType": "videoInference", "taskUUID": "a"}], {"data": []})
    assert exchange(recorder, [{"taskType": "getResponse", "taskUUID": "a"}], {"data": []}) is submitted
    other = exchange(recorder, [{"taskType": "videoInference", "taskUUID": "b"}], {"data": []})
    both = exchange(recorder, [{"taskType": "getResponse", "taskUUID": u} for u in "ab"], {"data": []})
    assert len({id(submitted), id(other), id(both)}) == 3
    exchange(recorder, [{"taskType": "ping"}], {"data": []})
    assert sorted(len(r["exchanges"]) for _, r in load_recordings(tmp_path)) == [1, 1, 1, 2]


def test_every_key_a_request_carried_is_scrubbed(tmp_path):
    recorder = ExchangeRecorder(tmp_path, "http://service/v1")
    tasks = [{"taskType": "authentication", "apiKey": OTHER_KEY}, {"taskType": "videoInference", "taskUUID": "a"}]
    exchange(recorder, tasks, {"errors": [{"message": f"not {OTHER_KEY}"}]}, keys=[KEY, OTHER_KEY])
    [(path, recording)] = load_recordings(tmp_path)
    assert KEY not in path.read_text() and OTHER_KEY not in path.read_text()
    assert recording["exchanges"][0]["request"]["body"][0]["apiKey"] == API_KEY_PLACEHOLDER


def test_a_second_key_spelt_with_json_escapes_is_scrubbed_too(tmp_path):
    recorder = ExchangeRecorder(tmp_path, "http://service/v1")
    spelt = "".join(f"\\u{ord(c):04x}" for c in OTHER_KEY[:3]) + OTHER_KEY[3:]
    body = f'[{{"taskType":"authentication","apiKey":"{spelt}"}}, {{"taskType":"ping"}}]'.encode()
    recorder.add_exchange(body, {"Authorization": f"Bearer {KEY}"}, 200, {}, b'{"data": []}', [KEY, OTHER_KEY])
    [(path, recording)] = load_recordings(tmp_path)
    assert spelt not in path.read_text() and OTHER_KEY not in path.read_text()
    assert recording["exchanges"][0]["request"]["body"][0]["apiKey"] == API_KEY_PLACEHOLDER


def test_result_files_keep_their_own_plain_name_or_get_one_made_from_the_url(tmp_path):
    recorder = ExchangeRecorder(tmp_path, "http://service/v1")
    assert recorder.keep_file("http://cdn/v/abc.mp4?sig=1", "video/mp4", b"1") == "files/abc.mp4"
    assert recorder.keep_file("http://cdn/w/abc.mp4", "video/mp4", b"2").endswith(".mp4")
    assert recorder.keep_file("http://cdn/w/..", "video/webm", b"3").endswith(".webm")
    assert sorted(p.read_bytes() for p in (tmp_path / "files").iterdir()) == [b"1", b"2", b"3"]
