"""Reading a request body into a task array, with bounded work whatever the body holds.

JSON is parsed one top-level item at a time, so a body holding more tasks than the mock takes is refused
after `max_tasks + 1` items, not after parsing millions of them (the parser holds the interpreter while it
runs: a thread would not spare the event loop). For the same reason a very long string (a data URI near the body
cap) is decoded in slices with the event loop free between them: in one piece, the 60 MB string alone held it for
about 70 ms. Numbers must be finite: `1e999` is valid JSON, but no parameter can hold it.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
from json.decoder import scanstring
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

# Strings of at least LONG_STRING_BYTES are lifted out of the body and decoded SLICE_BYTES at a time (module
# constants so that a test can make them small).
LONG_STRING_BYTES = 4 << 20
SLICE_BYTES = 2 << 20
# Bounds on the byte-by-byte look around a quote; past them the string is left to the plain parse.
_LOOKAROUND = 1024
_BACKSLASH = ord("\\")


async def read_task_array(raw: bytes, max_tasks: int) -> Any:
    """The body parsed: a list of at most `max_tasks` items, or — when the body is not an array — whatever JSON
    it holds (the envelope check words that refusal). Refusals are `invalidRequestBody` or `tooManyTasks`.

    Long strings are replaced by placeholders, the rest is parsed, and the placeholders are swapped back. Anything
    this cannot settle (a string with an error in it, a quote whose role it cannot tell) goes to the plain parse,
    which is exact and words every refusal, at the cost of holding the loop."""
    if len(raw) >= LONG_STRING_BYTES:
        lifted = await _lift_long_strings(raw)
        if lifted is not None:
            skeleton, values = lifted
            try:
                body = parse_task_array(skeleton, max_tasks)
            except exceptions.RunwareError as error:
                if error.code != exceptions.INVALID_REQUEST_BODY.code:
                    raise  # tooManyTasks counts items, which the placeholders leave as they are
            else:
                restored = await _restored(body, values)
                if restored is not _UNSETTLED:
                    # Joining a long string's slices was one long step (~25 ms for 60 MB). Requests that arrived
                    # meanwhile are answered before the caller's own long steps on the body: a zero sleep would
                    # queue the caller ahead of their handlers, a timer lets them run first.
                    await asyncio.sleep(0.001)
                    return restored
    return parse_task_array(raw, max_tasks)


def parse_task_array(raw: bytes, max_tasks: int) -> Any:
    """`read_task_array` in one piece, holding the event loop while it runs."""
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
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


_UNSETTLED = object()


async def _lift_long_strings(raw: bytes) -> tuple[bytes, dict[str, str]] | None:
    """The body with each long string literal replaced by a placeholder, and the placeholders' decoded strings;
    None when a long string holds something the plain parse must word (a bad escape, a control character).

    A long string shows as a window of LONG_STRING_BYTES / 2 with no quote in it. The quote before such a window
    opens a string or closes one; the placeholder stands where the string would be, and its text (`#...#`) is
    not JSON outside a string, so when that quote closed a string instead the skeleton fails to parse and the
    body goes to the plain parse. Nothing else changes the body's meaning."""
    window = LONG_STRING_BYTES // 2
    view = memoryview(raw)
    nonce = secrets.token_hex(8)
    parts: list[bytes | memoryview] = []
    values: dict[str, str] = {}
    kept_from = start = 0
    while start + window <= len(raw):
        if raw.find(b'"', start, start + window) != -1:
            start += window
            continue
        opening = raw.rfind(b'"', kept_from, start)
        closing = _closing_quote(raw, start + window)
        if opening == -1 or closing == -1 or _escaped(raw, opening) is not False:
            start = closing + 1 if closing != -1 else len(raw)
            continue
        value = await decoded_in_slices(view, opening + 1, closing)
        if value is None:
            return None
        placeholder = f"#{nonce}-{len(values)}#"
        values[placeholder] = value
        parts += [view[kept_from:opening], f'"{placeholder}"'.encode()]
        kept_from = start = closing + 1
    if not values:
        return None
    parts.append(view[kept_from:])
    return b"".join(parts), values


def _closing_quote(raw: bytes, start: int) -> int:
    """The first quote from `start` that no backslash escapes; -1 when there is none within bounds."""
    quote = raw.find(b'"', start)
    for _ in range(_LOOKAROUND):
        if quote == -1 or _escaped(raw, quote) is False:
            return quote
        quote = raw.find(b'"', quote + 1)
    return -1


def _escaped(raw: bytes, index: int) -> bool | None:
    """Whether the byte at `index` follows an odd run of backslashes; None for a run too long to count."""
    run = 0
    while run < index and raw[index - run - 1] == _BACKSLASH:
        run += 1
        if run > _LOOKAROUND:
            return None
    return run % 2 == 1


async def decoded_in_slices(view: memoryview, start: int, end: int) -> str | None:
    """The JSON string whose text (quotes excluded) is view[start:end], decoded a slice at a time with the loop
    free between slices; None when the text is not a valid JSON string. A slice never ends inside an escape
    (nor between the halves of a surrogate pair: no backslash in the 12 bytes before a cut) or a UTF-8
    sequence."""
    pieces: list[str] = []
    while start < end:
        cut = min(start + SLICE_BYTES, end)
        while cut < end and (0x80 <= view[cut] < 0xC0 or _BACKSLASH in view[max(start, cut - 12) : cut]):
            cut += 1
            if cut - start > SLICE_BYTES + _LOOKAROUND:
                cut = end
        try:
            text = str(view[start:cut], "utf-8")
            piece, after = scanstring(text + '"', 0, True)
        except ValueError:  # UnicodeDecodeError included
            return None
        if after != len(text) + 1:
            return None
        pieces.append(piece)
        start = cut
        await asyncio.sleep(0)
    return "".join(pieces)


async def _restored(body: Any, values: dict[str, str]) -> Any:
    """The parsed skeleton with every placeholder (as a value or a key) swapped for its string, or _UNSETTLED
    when the placeholders did not each appear exactly once. Walked without recursion, yielding now and then."""
    found = 0

    def swapped(item: Any) -> Any:
        nonlocal found
        if isinstance(item, str) and item in values:
            found += 1
            return values[item]
        return item

    top = [body]
    pending: list[list[Any] | dict[str, Any]] = [top]
    visited = 0
    while pending:
        container = pending.pop()
        if isinstance(container, list):
            for index, item in enumerate(container):
                container[index] = swapped(item)
                if isinstance(item, (list, dict)):
                    pending.append(item)
        else:
            if any(key in values for key in container):
                items = [(swapped(key), value) for key, value in container.items()]
                container.clear()
                container.update(items)
            for key, item in container.items():
                container[key] = swapped(item)
                if isinstance(item, (list, dict)):
                    pending.append(item)
        visited += len(container)
        if visited > 100_000:
            visited = 0
            await asyncio.sleep(0)
    return top[0] if found == len(values) else _UNSETTLED
