"""What the drift check compares: each comparison on hand-made answers, both sides given."""

from __future__ import annotations

import json

import pytest

from contract_tests.client import RawAnswer
from contract_tests.drift_compare import (
    compare_answer,
    compare_download,
    compare_items,
    compare_items_by_status,
    compare_progressions,
)

JSON = {"Content-Type": "application/json"}


def recorded(status, body):
    return {"status": status, "headers": JSON, "body": body}


def now(status, body):
    return RawAnswer(status, JSON, json.dumps(body).encode()), body


@pytest.mark.parametrize(
    ("then", "now", "drift"),
    [
        (["processing", "success"], ["success"], False),  # a faster target skips processing
        (["success"], ["processing", "success"], False),  # a slower one shows it
        (["processing"], ["success"], False),  # the recording stopped polling before any outcome
        (["processing"], ["processing"], False),
        (["processing", "success"], ["processing", "error"], True),
        (["processing"], ["error"], True),
        (["success"], [], True),
    ],
)
def test_a_status_progression_drifts_only_when_the_outcome_differs(then, now, drift):
    assert bool(compare_progressions({"t": then}, {"t": now})) is drift


def test_a_task_the_recording_saw_nothing_of_does_not_drift():
    assert compare_progressions({"t": []}, {"t": ["error"]}) == []


def test_an_answer_is_compared_by_status_type_fields_and_errors_not_by_items():
    then = recorded(400, {"errors": [{"code": "invalidKey", "parameter": "apiKey"}], "data": [{"a": 1}]})
    raw, body = now(401, {"errors": [{"code": "invalidApiKey", "parameter": "apiKey"}], "data": []})
    found = {d.what: (d.recorded, d.now) for d in compare_answer("#1", then, raw, body)}
    assert found == {
        "#1: HTTP status": ("400", "401"),
        "#1: error code @ parameter": ('invalidKey @ "apiKey"', 'invalidApiKey @ "apiKey"'),
    }


def test_items_are_compared_by_number_and_fields_position_by_position():
    then = {"data": [{"taskUUID": "a", "cost": 0.1}, {"taskUUID": "b"}]}
    found = compare_items("#1", then, {"data": [{"taskUUID": "a", "cost": "0.1"}]})
    assert [(d.what, d.recorded, d.now) for d in found] == [
        ("#1: number of items", "2", "1"),
        ("#1: fields of data[0]", "cost: number", "cost: string"),
    ]


def test_items_of_a_body_that_is_no_object_are_left_to_the_answer():
    then = recorded(200, {"data": [{"taskUUID": "a"}]})
    raw, _ = now(200, {})
    assert compare_items("#1", then["body"], None) == []
    assert [d.what for d in compare_answer("#1", then, raw, None)] == ["#1: body"]


def test_poll_items_are_compared_per_status():
    then = [{"data": [{"status": "processing", "progress": 10}]}, {"data": [{"status": "success", "seed": 1}]}]
    now_bodies = [{"data": [{"status": "success"}]}]
    (found,) = compare_items_by_status("#2", then, now_bodies)
    assert (found.what, found.recorded, found.now) == ("#2: fields of success items", "seed: integer", "seed: absent")


@pytest.mark.parametrize(("seconds", "drift"), [(1.19, False), (0.81, False), (1.3, True), (None, True)])
def test_a_result_file_drifts_beyond_the_duration_tolerance(seconds, drift):
    media = {"container": "mov,mp4,m4a,3gp,3g2,mj2", "brand": "isom", "duration": 1.0}
    then = {"url": "u", "status": 200, "contentType": "video/mp4", "media": media}
    found = compare_download("#3", then, 200, "video/mp4", {**media, "duration": seconds})
    assert [d.what for d in found] == (["#3: duration"] if drift else [])


def test_a_result_file_in_another_container_drifts():
    then = {"url": "u", "status": 200, "contentType": "video/mp4", "media": {"container": "mp4", "brand": "isom"}}
    (found,) = compare_download("#3", then, 200, "video/quicktime", {"container": "mp4", "brand": "qt  "})
    assert (found.recorded, found.now) == ("video/mp4, mp4 isom", "video/quicktime, mp4 qt")
