"""Reading a request body into a task array, with bounded work whatever the body holds.

JSON is parsed one top-level item at a time, so a body holding more tasks than the mock takes is refused
after `max_tasks + 1` items, not after parsing millions of them (the parser holds the interpreter while it
runs: a thread would not spare the event loop). Numbers must be finite: `1e999` is valid JSON, but no
parameter can hold it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any, NoReturn

from mock_server import exceptions

_WHITESPACE = " \t\n\r"
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


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def read_task_array(raw: bytes, max_tasks: int) -> Any:
    """The body parsed: a list of at most `max_tasks` items, or — when the body is not an array — whatever JSON
    it holds (the envelope check words that refusal). Refusals are `invalidRequestBody` or `tooManyTasks`."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise exceptions.invalid_request_body("The request body is not UTF-8 text.") from None
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


def task_types(body: Any) -> dict[str, int]:
    """How many tasks of each type a parsed task array holds, in the order they first appear; types that are not
    plain words are left out."""
    if not isinstance(body, list):
        return {}
    named = (task.get("taskType") for task in body if isinstance(task, dict))
    return dict(Counter(name for name in named if isinstance(name, str) and _TASK_TYPE_WORD.fullmatch(name)))


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
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index
