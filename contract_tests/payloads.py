"""Example task payloads (from `fixtures/payloads`) and a way to change one parameter of them."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

PAYLOAD_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
MISSING = object()


def example_task(name: str = "minimal-task") -> dict[str, Any]:
    """The task of `fixtures/payloads/<name>.json`, with a fresh taskUUID."""
    (task,) = json.loads((PAYLOAD_DIR / f"{name}.json").read_text())
    task["taskUUID"] = str(uuid.uuid4())
    return task


def with_parameter(task: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `task` with the parameter at a dotted path (`providerSettings.sync.segments[0].endTime`) set.

    Objects on the way are created; `MISSING` removes the parameter.
    """
    changed = copy.deepcopy(task)
    *parents, leaf = _split(path)
    node: Any = changed
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    if value is MISSING:
        del node[leaf]
    else:
        node[leaf] = value
    return changed


def _split(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for name in path.split("."):
        base, *indexes = name.replace("]", "").split("[")
        parts.append(base)
        parts.extend(int(index) for index in indexes)
    return parts
