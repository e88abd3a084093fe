from __future__ import annotations

import time

import pytest

from mock_server.body import read_task_array, task_types
from mock_server.exceptions import RunwareError


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (b"[]", []),
        (b' \n[ {"a": 1} , 2,"x" ]\n', [{"a": 1}, 2, "x"]),
        (b'{"a": [1]}', {"a": [1]}),  # not an array: returned for the envelope check to word
        (b"5", 5),
    ],
)
def test_bodies_are_read_as_json(raw, parsed):
    assert read_task_array(raw, 3) == parsed


@pytest.mark.parametrize(
    "raw",
    [b"", b"  ", b"[", b"[1,]", b"[1 2]", b"[1]x", b"[NaN]", b"[1e999]", b"[-1e999]", b"\xff[]", b"[" * 100_000],
)
def test_unreadable_bodies_are_invalid(raw):
    with pytest.raises(RunwareError) as refused:
        read_task_array(raw, 3)
    assert refused.value.code == "invalidRequestBody"


def test_more_tasks_than_the_cap_stop_the_parse_at_once():
    assert len(read_task_array(b"[" + b",".join([b"{}"] * 3) + b"]", 3)) == 3
    huge = b"[" + b",".join([b"{}"] * 5_000_000) + b"]"
    started = time.perf_counter()
    with pytest.raises(RunwareError) as refused:
        read_task_array(huge, 3)
    assert time.perf_counter() - started < 0.5  # a full parse takes seconds
    assert (refused.value.code, refused.value.extra) == ("tooManyTasks", {"max": 3})


def test_large_finite_numbers_are_read():
    assert read_task_array(b"[1.5, 1e308, -1e308]", 3) == [1.5, 1e308, -1e308]


def test_task_types_are_counted_in_order_and_only_as_words():
    poll = {"taskType": "getResponse"}
    assert task_types([{"taskType": "videoInference", "media": "taskType"}, poll, "x", poll]) == {
        "videoInference": 1,
        "getResponse": 2,
    }
    assert task_types([{"taskType": "x y"}, {"taskType": 3}, {"taskType": "a\nINFO forged"}]) == {}
    assert task_types({"taskType": "getResponse"}) == {} and task_types(None) == {}
