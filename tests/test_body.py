from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import Callable
from typing import Any

import pytest

from contract_tests.payloads import example_task
from mock_server import body as body_module
from mock_server.app import create_app
from mock_server.body import read_task_array, task_type_counts
from mock_server.config import Settings
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
async def test_bodies_are_read_as_json(raw, parsed):
    assert await read_task_array(raw, 3) == parsed


@pytest.mark.parametrize(
    "raw",
    [b"", b"  ", b"[", b"[1,]", b"[1 2]", b"[1]x", b"[NaN]", b"[1e999]", b"[-1e999]", b"\xff[]", b"[" * 100_000],
)
async def test_unreadable_bodies_are_invalid(raw):
    with pytest.raises(RunwareError) as refused:
        await read_task_array(raw, 3)
    assert refused.value.code == "invalidRequestBody"


async def test_more_tasks_than_the_cap_stop_the_parse_at_once():
    assert len(await read_task_array(b"[" + b",".join([b"{}"] * 3) + b"]", 3)) == 3
    with pytest.raises(RunwareError) as refused:
        await read_task_array(b"[" + b",".join([b"{}"] * 1000) + b"]", 3)
    assert (refused.value.code, refused.value.extra) == ("tooManyTasks", {"max": 3})


async def test_large_finite_numbers_are_read():
    assert await read_task_array(b"[1.5, 1e308, -1e308]", 3) == [1.5, 1e308, -1e308]


def test_task_types_are_counted_in_order_and_only_as_words():
    poll = {"taskType": "getResponse"}
    assert task_type_counts([{"taskType": "videoInference", "media": "taskType"}, poll, "x", poll]) == {
        "videoInference": 1,
        "getResponse": 2,
    }
    assert task_type_counts([{"taskType": "x y"}, {"taskType": 3}, {"taskType": "a\nINFO forged"}]) == {}
    assert task_type_counts({"taskType": "getResponse"}) == {} and task_type_counts(None) == {}


def _keys(count: int) -> bytes:
    return b"[{" + b",".join(b'"k%d":1' % index for index in range(count)) + b"}]"


def _nested(count: int, depth: int) -> bytes:
    return b"[[" + b",".join([b"[" * depth + b"]" * depth] * count) + b"]]"


@pytest.mark.parametrize(
    "make",
    [lambda: _keys(4_000_000), lambda: _nested(19_000, 400)],  # parsed: 4.5 s and 7 s
    ids=["an object of 4 million keys", "19,000 arrays nested 400 deep"],
)
async def test_a_body_of_more_values_than_the_cap_is_refused_before_it_is_parsed(make, monkeypatch):
    raw = make()
    monkeypatch.setattr(body_module, "_DECODER", NeverParse())
    with pytest.raises(RunwareError) as refused:
        await read_task_array(raw, 3)
    assert refused.value.code == "invalidRequestBody"
    assert f"more than {body_module.MAX_VALUES} values, arrays or objects" in refused.value.message


async def test_a_body_just_within_the_value_cap_is_read():
    assert len((await read_task_array(_keys(body_module.MAX_VALUES - 1), 3))[0]) == body_module.MAX_VALUES - 1
    assert len((await read_task_array(_nested(body_module.MAX_VALUES - 3, 1), 3))[0]) == body_module.MAX_VALUES - 3


class NeverParse:
    """In place of the body module's JSON decoder: any parse fails the test."""

    def decode(self, text: str) -> Any:
        raise AssertionError("the body was parsed")

    raw_decode = decode


def python_lines_run(call: Callable[[], Any]) -> int:
    """How many lines of mock_server/body.py run during `call()`: work done in Python, not in C, counted exactly."""
    lines = 0

    def trace(frame: Any, event: str, arg: Any) -> Any:
        nonlocal lines
        if frame.f_code.co_filename != body_module.__file__:
            return None
        lines += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(previous)
    return lines


def test_whitespace_is_skipped_without_a_step_per_byte(monkeypatch):
    # 64 MB of whitespace took 3 s stepped through byte by byte: the work done in Python must not grow with it.
    monkeypatch.setattr(body_module, "LONG_BODY", math.inf)  # no pauses between steps: the same lines for any size

    def parse(padding: bytes) -> Any:
        return asyncio.run(read_task_array(padding + b"[" + padding + b"1" + padding + b"]" + padding, 3))

    a_megabyte = b" \t\r\n" * (1 << 18)
    assert parse(a_megabyte) == [1]
    assert python_lines_run(lambda: parse(b" ")) == python_lines_run(lambda: parse(a_megabyte))
    with pytest.raises(RunwareError, match="empty"):
        asyncio.run(read_task_array(a_megabyte, 3))


async def test_a_long_body_lets_the_loop_go_between_the_steps_of_its_reading():
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.get_running_loop().create_task(tick())
    await asyncio.sleep(0)
    short = b"[" + b" " * 1000 + b"1]"
    ticks = 0
    assert await read_task_array(short, 3) == [1]
    assert ticks == 0  # a short body is read in one go
    long = b"[" + b" " * body_module.LONG_BODY + b"1]"
    assert await read_task_array(long, 3) == [1]
    assert ticks >= 5  # after each of the four counts and the decode
    ticker.cancel()


@pytest.mark.parametrize("number", [str(2**63), str(-(2**63) - 1), "1" + "0" * 400, "-" + "9" * 4000])
async def test_integers_no_parameter_can_hold_are_refused(number):
    with pytest.raises(RunwareError) as refused:
        await read_task_array(f'[{{"ttl": {number}}}]'.encode(), 3)
    assert refused.value.code == "invalidRequestBody"
    assert "too large for any parameter" in refused.value.message
    assert len(refused.value.message) < 200  # the digits are not all repeated


async def test_the_largest_integers_a_parameter_can_hold_are_read():
    assert await read_task_array(f"[{2**63 - 1}, {-(2**63)}, 0, -0]".encode(), 4) == [2**63 - 1, -(2**63), 0, 0]


async def test_a_long_string_is_read_whole():
    text = "data:video/mp4;base64," + "QUJD" * (4 << 20)  # 16 MB
    raw = json.dumps([{"taskType": "mediaStorage", "media": text, "note": "é\n😀"}]).encode()
    assert await read_task_array(raw, 3) == [{"taskType": "mediaStorage", "media": text, "note": "é\n😀"}]


async def test_a_ttl_no_integer_type_holds_is_refused_with_the_request(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True)))
    task = json.dumps([{**example_task(), "ttl": 1}]).replace('"ttl": 1', '"ttl": 1' + "0" * 400)
    response = await client.post("/v1", data=task, headers={"Authorization": "Bearer key"})
    assert response.status == 400  # once accepted, then processing for ever: the render's expiry overflowed
    error = (await response.json())["errors"][0]
    assert error["code"] == "invalidRequestBody" and "too large for any parameter" in error["message"]


async def test_a_body_of_more_escapes_than_the_cap_is_refused_and_an_escaped_data_uri_is_read():
    with pytest.raises(RunwareError) as refused:
        await read_task_array(b'["' + b"\\n" * body_module.MAX_ESCAPES + b'"]', 3)
    assert refused.value.code == "invalidRequestBody" and "escapes" in refused.value.message
    media = "data:video/mp4;base64," + ("A" * 63 + "/") * (1 << 20)  # 64 MB, one slash in 64 as in base64
    assert await read_task_array(b'["' + media.replace("/", "\\/").encode() + b'"]', 3) == [media]
