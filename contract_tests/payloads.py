"""Example task payloads (from `contract_tests/data/payloads`, shipped in the package; `fixtures/payloads` links
to it) and a way to change one parameter of them."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from mock_server.paths import parse_path

# Package data, so the suite runs from an installed wheel as well as from a checkout.
DATA_DIR = Path(__file__).resolve().parent / "data"
PAYLOAD_DIR = DATA_DIR / "payloads"
MEDIA_DIR = DATA_DIR / "media"


class _Missing:
    """A parameter left out (a sentinel; its repr names it in test ids)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class PaidTask(Protocol):
    """What the `paid_task` fixture gives (conftest.py): a task that will run, made or checked."""

    def __call__(self, task: dict[str, Any] | None = None, voice_seconds: float | None = None) -> dict[str, Any]: ...


RefusedTask = Callable[[], dict[str, Any]]  # the `refused_task` fixture: the base of a task meant to be refused


def example_task(name: str = "minimal-task") -> dict[str, Any]:
    """The task of `data/payloads/<name>.json`, with a fresh taskUUID."""
    (task,) = json.loads((PAYLOAD_DIR / f"{name}.json").read_text())
    task["taskUUID"] = str(uuid.uuid4())
    return task


def with_parameter(task: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `task` with the parameter at a dotted path (`providerSettings.sync.segments[0].endTime`) set.

    Objects on the way are created; `MISSING` removes the parameter.
    """
    changed = copy.deepcopy(task)
    *parents, leaf = parse_path(path)
    node: Any = changed
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    if value is MISSING:
        del node[leaf]
    else:
        node[leaf] = value
    return changed


def data_uri(file_name: str) -> str:
    """A file of `data/media` as a data URI, e.g. for a task that must not depend on a server."""
    kinds = {".mp4": "video/mp4", ".wav": "audio/wav"}
    path = MEDIA_DIR / file_name
    return f"data:{kinds[path.suffix]};base64,{base64.b64encode(path.read_bytes()).decode()}"


def with_inline_media(task: dict[str, Any]) -> dict[str, Any]:
    """`task` with the fixture speaker and voice inlined as its inputs."""
    return {**task, "inputs": {"video": data_uri("speaker.mp4"), "audio": data_uri("voice.wav")}}
