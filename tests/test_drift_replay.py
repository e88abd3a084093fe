"""A recorded case sent again: what it sends in place of the recorded UUIDs, media and key, and how it groups the
exchanges it replays. Loopback only: a target that answers what was recorded, a client that never connects."""

from __future__ import annotations

import json

from contract_tests.client import ApiClient, RawAnswer
from contract_tests.drift_replay import CaseReplay, polled_tasks, task_types_label
from mock_server.recording import API_KEY_PLACEHOLDER

RECORDED_UUID = "0b9e3c1a-2d4f-4a6b-8c7d-9e0f1a2b3c4d"


class RecordedTarget(ApiClient):
    """Answers each request with `answer(tasks sent)`, and keeps what it was sent."""

    def __init__(self, answer):
        super().__init__("http://127.0.0.1:9/v1", "k")
        self.answer, self.sent_tasks = answer, []

    def send(self, body, headers):
        self.sent_tasks.append(json.loads(body))
        return RawAnswer(200, {}, json.dumps(self.answer(self.sent_tasks[-1])).encode())


def replay(recording, answer=lambda tasks: {}):
    return CaseReplay(RecordedTarget(answer), "now-key", "http://127.0.0.1:8000/media", recording, budget=1.0)


def test_a_recorded_request_is_sent_with_fresh_task_uuids_this_runs_media_and_the_key():
    case = replay({"mediaBaseUrl": "http://old.example/m", "exchanges": []})
    task = {"taskUUID": RECORDED_UUID, "inputs": {"video": "http://old.example/m/speaker.mp4"}}
    sent = case.rename([task, {"taskType": "authentication", "apiKey": API_KEY_PLACEHOLDER}])
    assert sent[0]["taskUUID"] != RECORDED_UUID and case.renamed[RECORDED_UUID] == sent[0]["taskUUID"]
    assert sent[0]["inputs"]["video"] == "http://127.0.0.1:8000/media/speaker.mp4"
    assert sent[1]["apiKey"] == "now-key"
    assert case.rename({"taskUUID": RECORDED_UUID}) == {"taskUUID": sent[0]["taskUUID"]}  # the same each time


def test_a_run_of_the_same_poll_is_replayed_as_one_poll_sequence():
    poll = {"headers": {}, "body": [{"taskType": "getResponse", "taskUUID": RECORDED_UUID}]}
    processing = {"data": [{"taskUUID": RECORDED_UUID, "status": "processing"}]}
    success = {"data": [{"taskUUID": RECORDED_UUID, "status": "success"}]}
    exchanges = [
        {"request": poll, "response": {"status": 200, "headers": {}, "body": body}} for body in (processing, success)
    ]

    def done(tasks):
        return {"data": [{"taskUUID": tasks[0]["taskUUID"], "status": "success"}]}

    case = replay({"exchanges": exchanges}, done)
    assert case.run() == []
    assert len(case.client.sent_tasks) == 1  # the target was as far as the recording at the first poll
    assert case.states_then[RECORDED_UUID] == ["processing", "success"]
    assert case.states_now[RECORDED_UUID] == ["success"]


def test_requests_are_told_apart_by_their_tasks():
    polls = {"body": [{"taskType": "getResponse", "taskUUID": "a"}, {"taskType": "getResponse", "taskUUID": "b"}]}
    assert polled_tasks(polls) == ["a", "b"]
    assert polled_tasks({"body": [{"taskType": "getResponse", "taskUUID": "a"}, {"taskType": "ping"}]}) == []
    assert task_types_label({"body": [{"taskType": "authentication"}, {"taskType": "videoInference"}]}) == (
        "authentication+videoInference"
    )
    assert task_types_label({"bodyText": "not json"}) == "raw body"
