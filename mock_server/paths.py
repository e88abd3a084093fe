"""Parameter paths as the model page writes them: `providerSettings.sync.segments[0].endTime`.

Errors name parameters this way, the contract suite sets them this way, and the conformance table groups
them without their indexes: one reading and one writing of the form, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Path = list[str | int]

_INDEX = re.compile(r"\[(\d+)\]")
_TRAILING_INDEXES = re.compile(r"(?:\[\d+\])+$")


def format_path(parts: Iterable[str | int]) -> str:
    """`['providerSettings', 'sync', 'segments', 0, 'endTime']` → `providerSettings.sync.segments[0].endTime`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def parse_path(text: str) -> Path:
    """The inverse of `format_path`. Only `[digits]` at the end of a part is an index: any other text is a name
    (a client may send a key such as `Y[a]`)."""
    parts: Path = []
    for piece in filter(None, text.split(".")):
        indexes = _TRAILING_INDEXES.search(piece)
        name = piece[: indexes.start()] if indexes else piece
        if name:
            parts.append(name)
        if indexes:
            parts.extend(int(index) for index in _INDEX.findall(indexes.group()))
    return parts


def without_indexes(text: str) -> str:
    """`providerSettings.sync.segments[2].endTime` → `providerSettings.sync.segments[].endTime`."""
    return _INDEX.sub("[]", text)


def leaf_name(parts: Iterable[str | int]) -> str:
    """The parameter's own name: the last named part (`endTime`), or `task` for the task itself."""
    return next((part for part in reversed(list(parts)) if isinstance(part, str)), "task")
