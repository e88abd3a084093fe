"""The proxy's recorder: cases per task, keys scrubbed wherever they are, result files kept under plain names."""

from __future__ import annotations

import json
from pathlib import Path

from mock_server.http.recorder import ExchangeRecorder, client_keys, success_urls
from mock_server.recording import (
    API_KEY_PLACEHOLDER,
    CaseRecording,
    GrowingRecording,
    load_conversations,
    load_recordings,
    timestamp,
)
from tests.test_dispatcher import FakeClock

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


def written_bytes() -> int:
    """What this process has written so far, all files together (Linux)."""
    (line,) = [line for line in Path("/proc/self/io").read_text().splitlines() if line.startswith("wchar:")]
    return int(line.split()[1])


POLLS = 3000


def test_recording_the_3000th_poll_of_a_task_writes_no_more_than_the_10th(tmp_path):
    recorder = ExchangeRecorder(tmp_path, "http://service/v1")
    exchange(recorder, [{"taskType": "videoInference", "taskUUID": "a"}], {"data": []})
    written = {}
    for count in range(1, POLLS + 1):
        before = written_bytes()
        exchange(recorder, [{"taskType": "getResponse", "taskUUID": "a"}], {"data": [{"status": "processing"}]})
        written[count] = written_bytes() - before
    assert 0 < written[POLLS] < 2 * written[10]
    [(_, recording)] = load_recordings(tmp_path)
    assert len(recording["exchanges"]) == POLLS + 1 and recording["case"] == "proxy::videoInference a"


def test_recording_the_3000th_websocket_frame_writes_no_more_than_the_10th(tmp_path):
    conversation = ExchangeRecorder(tmp_path, "http://service/v1").websocket_conversation()
    conversation.add_frame("client", json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
    written = {}
    for count in range(1, POLLS + 1):
        before = written_bytes()
        conversation.add_frame("server", '{"data": [{"status": "processing"}]}')
        written[count] = written_bytes() - before
    assert 0 < written[POLLS] < 2 * written[10]
    (path,) = (tmp_path / "websocket").iterdir()
    frames = json.loads(path.read_text())["frames"]
    assert len(frames) == POLLS + 1 and KEY not in path.read_text()
    assert frames[0]["frame"]["body"][0]["apiKey"] == API_KEY_PLACEHOLDER


def test_a_recording_written_as_it_grows_is_laid_out_as_one_written_at_once(tmp_path):
    exchanges = [{"download": {"url": "u", "media": None}}, {"request": {"body": [1, {"a": "é"}]}}]
    whole = CaseRecording("case", None, list(exchanges)).write(
        tmp_path / "a", outcome="o", target="t", media_base_url=None
    )
    fields = {name: value for name, value in json.loads(whole.read_text()).items() if name != "exchanges"}
    grown = GrowingRecording(tmp_path / "grown.json", fields)
    for entry in exchanges:
        grown.append(entry)
    assert (tmp_path / "grown.json").read_text() == whole.read_text()


def test_exchanges_and_frames_keep_when_they_were_made_by_the_recorders_clock(tmp_path):
    clock = FakeClock()
    recorder = ExchangeRecorder(tmp_path, "http://service/v1", clock)
    exchange(recorder, [{"taskType": "videoInference", "taskUUID": "a"}], {"data": []})
    recorder.add_exchange(b"[]", {}, 200, {}, b"{}", [], asked_at=clock.now - 2.5)  # asked before it was answered
    conversation = recorder.websocket_conversation()
    clock.now += 0.25
    conversation.add_frame("client", "[]")
    moments = sorted(entry["at"] for _, r in load_recordings(tmp_path) for entry in r["exchanges"])
    assert moments == [timestamp(997.5), timestamp(1000.0)] == ["1970-01-01T00:16:37.500+00:00", timestamp(1000)]
    [(_, talk)] = load_conversations(tmp_path / "websocket")
    assert talk["frames"][0]["at"] == "1970-01-01T00:16:40.250+00:00"
