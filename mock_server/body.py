"""Reading a request body into a task array, with bounded work whatever the body holds.

The parser holds the interpreter while it runs (a thread would not free the event loop), so what it may be
given is bounded instead, each bound cheap to check before the parse:
- JSON is parsed one top-level item at a time, so a body holding more tasks than the mock takes is refused
  after `max_tasks + 1` items, not after parsing millions of them.
- A body may hold at most MAX_VALUES values and containers, counted by the commas between values and the
  brackets and braces that open containers (inside strings too, which no task needs many of): an object of 4
  million keys held the loop for 4.5 s, an array of 30 million integers 1.5 s, 19,000 arrays nested 400 deep
  (14 MB) 7 s; at the cap a parse takes milliseconds (docs/dev/benchmarks.md).
- A body may hold at most MAX_ESCAPES backslashes: a 60 MB string of escapes took 150 ms to parse at best.
  A base64 data URI escaped as some encoders do, a backslash before each slash, holds one per 64 characters.
- Whitespace is skipped by a regular expression: byte by byte, 60 MB of it held the loop for 3 s.
- Numbers must be finite, and integers fit 64 bits: `1e999` and `1e400` written out are valid JSON, but no
  parameter can hold them (a ttl of 10**400 overflowed once the render was done).
A long string (a data URI near the body cap) is parsed in one piece: 60 MB take 120-170 ms here. Each step of
reading a long body (each count, the decode, the parse) is tens of milliseconds to a few hundred for 60 MB, so the
loop is let go between the steps: no request waits for their sum (about 400 ms at 60 MB, docs/dev/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Generator
from typing import Any, NoReturn

from mock_server import exceptions

MAX_VALUES = 20_000
MAX_ESCAPES = 4_000_000
# Bodies from this size on let the loop go between the steps of their reading (below it every step is short), for
# long enough that requests that came in meanwhile are answered first.
LONG_BODY = 1 << 20
PAUSE_SECONDS = 0.002
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# What a taskType must look like to be counted (and so logged): a word, never text a client could shape into
# a forged log line.
_TASK_TYPE_WORD = re.compile(r"[A-Za-z]{1,64}")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _int64(text: str) -> int:
    """An integer that a signed 64-bit one holds (the digits are counted first: int() of thousands is slow)."""
    value = int(text) if len(text) <= 20 else None
    if value is None or not -(2**63) <= value < 2**63:
        shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
        raise ValueError(f"the integer {shown} is too large for any parameter (at most 2**63 - 1)")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int64)


async def read_task_array(raw: bytes, max_tasks: int) -> Any:
    """The body parsed: a list of at most `max_tasks` items, or — when the body is not an array — whatever JSON
    it holds (the envelope check words that refusal). Refusals are `invalidRequestBody` or `tooManyTasks`."""
    steps = _reading_steps(raw, max_tasks)
    while True:
        try:
            next(steps)
        except StopIteration as parsed:
            return parsed.value
        if len(raw) >= LONG_BODY:
            await asyncio.sleep(PAUSE_SECONDS)


def _reading_steps(raw: bytes, max_tasks: int) -> Generator[None, None, Any]:
    """Reading the body, a step at a time: it yields between steps and returns the parse."""
    for mark in (b",", b"[", b"{"):
        if raw.count(mark) >= MAX_VALUES:
            raise exceptions.invalid_request_body(
                f"The request body holds more than {MAX_VALUES} values, arrays or objects (counted by their"
                " commas, brackets and braces); a task array needs far fewer."
            )
        yield
    if raw.count(b"\\") >= MAX_ESCAPES:
        raise exceptions.invalid_request_body(
            f"The request body holds more than {MAX_ESCAPES} escapes (backslashes); a task array needs far fewer."
        )
    yield
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise exceptions.invalid_request_body("The request body is not UTF-8 text.") from None
    yield
    start = _skip(text, 0)
    if start == len(text):
        raise exceptions.invalid_request_body("The request body is empty; send a JSON array of tasks.")
    try:
        if text[start] != "[":
            return _DECODER.decode(text)
        return _items(text, start + 1, max_tasks)
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, ValueError) else "nested too deeply"
        raise exceptions.invalid_request_body(f"The request body is not valid JSON: {reason}.") from None


def task_type_counts(body: Any) -> dict[str, int]:
    """How many tasks of each type a parsed task array holds, in the order they first appear; types that are not
    plain words are left out."""
    counts: dict[str, int] = {}
    for task in body if isinstance(body, list) else ():
        name = task.get("taskType") if isinstance(task, dict) else None
        if isinstance(name, str) and _TASK_TYPE_WORD.fullmatch(name):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _items(text: str, index: int, max_tasks: int) -> list[Any]:
    items: list[Any] = []
    index = _skip(text, index)
    if text.startswith("]", index):
        return _end(text, index + 1, items)
    while True:
        if len(items) == max_tasks:
            raise exceptions.too_many_tasks(max_tasks)
        item, index = _DECODER.raw_decode(text, index)
        items.append(item)
        index = _skip(text, index)
        if text.startswith("]", index):
            return _end(text, index + 1, items)
        if not text.startswith(",", index):
            raise ValueError(f"expected ',' or ']' at character {index}")
        index = _skip(text, index + 1)


def _end(text: str, index: int, items: list[Any]) -> list[Any]:
    if _skip(text, index) != len(text):
        raise ValueError(f"extra data after the array at character {index}")
    return items


def _skip(text: str, index: int) -> int:
    """Where the first character that is not whitespace stands from `index` on."""
    found = _WHITESPACE.match(text, index)  # a run of a class: C speed; its complement searched for was 3x slower
    return found.end() if found else index
