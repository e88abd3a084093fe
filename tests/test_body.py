from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import body as body_module
from mock_server.body import decoded_in_slices, parse_task_array, read_task_array, task_types
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
    huge = b"[" + b",".join([b"{}"] * 5_000_000) + b"]"
    started = time.perf_counter()
    with pytest.raises(RunwareError) as refused:
        await read_task_array(huge, 3)
    assert time.perf_counter() - started < 0.5  # a full parse takes seconds
    assert (refused.value.code, refused.value.extra) == ("tooManyTasks", {"max": 3})


async def test_large_finite_numbers_are_read():
    assert await read_task_array(b"[1.5, 1e308, -1e308]", 3) == [1.5, 1e308, -1e308]


def test_task_types_are_counted_in_order_and_only_as_words():
    poll = {"taskType": "getResponse"}
    assert task_types([{"taskType": "videoInference", "media": "taskType"}, poll, "x", poll]) == {
        "videoInference": 1,
        "getResponse": 2,
    }
    assert task_types([{"taskType": "x y"}, {"taskType": 3}, {"taskType": "a\nINFO forged"}]) == {}
    assert task_types({"taskType": "getResponse"}) == {} and task_types(None) == {}


def _outcome(read: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("parsed", read())
    except RunwareError as error:
        return (error.code, error.message)


_JSON_TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from('"\\/\n\t\x00😀é'), max_size=40)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(body=_JSON_VALUES, ascii_only=st.booleans(), cut=st.none() | st.integers(0, 400), flip=st.integers(0, 255))
@settings(max_examples=400)
def test_long_strings_read_in_slices_read_as_the_plain_parse_does(body, ascii_only, cut, flip):
    # Tiny thresholds put slice cuts everywhere: beside escapes, inside surrogate pairs and UTF-8 sequences.
    raw = json.dumps(body, ensure_ascii=ascii_only).encode()
    if cut is not None and cut < len(raw):  # a damaged body must be refused in the same words
        raw = raw[:cut] + bytes([flip]) + raw[cut + 1 :]
    with patch.object(body_module, "LONG_STRING_BYTES", 8), patch.object(body_module, "SLICE_BYTES", 3):
        sliced = _outcome(lambda: asyncio.run(read_task_array(raw, 1000)))
    assert sliced == _outcome(lambda: parse_task_array(raw, 1000))


async def test_a_long_string_leaves_the_event_loop_free_while_it_is_read():
    text = "data:video/mp4;base64," + "QUJD" * (4 << 20)  # 16 MB
    raw = json.dumps([{"taskType": "mediaStorage", "media": text}]).encode()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    ticks = 0
    body = await read_task_array(raw, 3)
    ticker.cancel()
    assert body == [{"taskType": "mediaStorage", "media": text}]
    assert ticks >= 4  # one slice per 2 MB, the loop free between them; in one piece it would be 0


async def test_tasks_past_the_cap_are_refused_without_reading_a_long_string():
    raw = json.dumps([{"media": "x" * (8 << 20)}, {}, {}, {}]).encode()
    with pytest.raises(RunwareError) as refused:
        await read_task_array(raw, 3)
    assert refused.value.code == "tooManyTasks"


@given(text=_JSON_TEXT, ascii_only=st.booleans(), slice_bytes=st.integers(1, 7))
@settings(max_examples=300)
def test_every_valid_string_is_decoded_in_slices_without_the_plain_parse(text, ascii_only, slice_bytes):
    # Cuts never fall inside an escape, between a surrogate pair's halves or inside a UTF-8 sequence: no valid
    # string needs the fallback.
    literal = json.dumps(text, ensure_ascii=ascii_only).encode()
    with patch.object(body_module, "SLICE_BYTES", slice_bytes):
        decoded = asyncio.run(decoded_in_slices(memoryview(literal), 1, len(literal) - 1))
    assert decoded == text
