"""What `--proxy URL --record DIR` writes: the exchanges of a client's own application with the real service, in the
contract suite's recording format (`mock_server.recording`: one readable JSON file per case, the key scrubbed),
so `--replay DIR` and `lipsync-contract drift DIR` read them like any recording.

A case is a task where that can be told: the request that introduces a taskUUID starts one, and every later request
naming only that task's UUIDs (its polls) joins it, as does its result file. Anything else — a request naming no
taskUUID, or the UUIDs of several cases — is a case of its own. Result files go to `DIR/files/`, and their download
entry names the local copy (`"file": "files/<name>"`). WebSocket connections are one file each in
`DIR/websocket/`, frames in order, so the REST readers never mistake them for exchanges.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mock_server.http.sessions import SESSION_TASKS
from mock_server.recording import (
    API_KEY_PLACEHOLDER,
    SUBSTRING_SCRUB_MIN,
    WEBSOCKET_FOLDER,
    CaseRecording,
    GrowingRecording,
    encode_body,
    file_name,
    holds_secret,
    scrub,
    timestamp,
)

FILES = "files"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


def client_keys(authorization: str | None, body: bytes) -> list[str]:
    """Every key a request carries: the bearer key and the apiKey of authentication tasks. They are what is
    scrubbed; the proxy never writes or logs them."""
    keys = []
    if authorization:
        scheme, _, token = authorization.partition(" ")
        keys.append(token.strip() if scheme.lower() == "bearer" and token.strip() else authorization.strip())
    for task in parsed_tasks(body):
        if task.get("taskType") == "authentication" and isinstance(task.get("apiKey"), str) and task["apiKey"]:
            keys.append(task["apiKey"])
    return list(dict.fromkeys(keys))


def parsed_tasks(body: bytes | str) -> list[dict[str, Any]]:
    """The task objects of a task array; empty for anything else."""
    try:
        tasks = json.loads(body)
    except (ValueError, RecursionError):
        return []
    return [task for task in tasks if isinstance(task, dict)] if isinstance(tasks, list) else []


def named_tasks(body: bytes) -> dict[str, str]:
    """taskUUID → taskType of the tasks a request names (session tasks aside)."""
    return {
        task["taskUUID"]: str(task.get("taskType"))
        for task in parsed_tasks(body)
        if isinstance(task.get("taskUUID"), str) and task.get("taskType") not in SESSION_TASKS
    }


def scrub_all(value: Any, keys: Iterable[str]) -> Any:
    for key in keys:
        value = scrub(value, key)
    return value


def scrub_more(message: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A recorded request or response scrubbed of further keys (`CaseRecording` scrubs one: a request may carry a
    bearer key and an authentication task's)."""
    if "bodyBase64" in message:  # kept as bytes: scrubbed as bytes, as encode_body does
        raw = base64.b64decode(message["bodyBase64"])
        for key in keys:
            if len(key) >= SUBSTRING_SCRUB_MIN:
                raw = raw.replace(key.encode(), API_KEY_PLACEHOLDER.encode())
        return {
            **scrub_all({k: v for k, v in message.items() if k != "bodyBase64"}, keys),
            "bodyBase64": base64.b64encode(raw).decode(),
        }
    scrubbed = scrub_all(message, keys)
    text = scrubbed.get("bodyText")
    if isinstance(text, str) and any(holds_secret(text, key) for key in keys):  # as encode_body does
        scrubbed = {k: v for k, v in scrubbed.items() if k != "bodyText"}
        scrubbed["body"] = scrub_all(json.loads(text), keys)
    return scrubbed


def success_urls(response_body: bytes | str) -> list[str]:
    """The result files an answer (`{"data": [...]}`) hands out."""
    try:
        answer = json.loads(response_body)
    except (ValueError, RecursionError):
        return []
    items = answer.get("data") if isinstance(answer, dict) else None
    return [
        item["videoURL"]
        for item in items or []
        if isinstance(item, dict)
        and item.get("status", "success") == "success"
        and isinstance(item.get("videoURL"), str)
    ]


@dataclass
class Case:
    recording: CaseRecording  # what scrubs and encodes the case's exchanges; they are kept in `file` only
    task_uuids: set[str] = field(default_factory=set)
    file: GrowingRecording | None = None  # from the case's first exchange


class ExchangeRecorder:
    """Writes what the proxy saw into `folder`, a file per case, each exchange appended as it is made: a proxy that
    is stopped leaves complete files behind, and the 3,000th poll of a task costs what the first did."""

    def __init__(self, folder: Path, target: str, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.target = target
        self.clock = clock  # when each exchange and frame is made: a replay paces by it
        self.by_task: dict[str, Case] = {}
        self.downloaded: dict[str, str] = {}  # result URL → its file, relative to the folder
        self.serial = itertools.count(1)
        self.started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (folder / FILES).mkdir(parents=True, exist_ok=True)

    def add_exchange(
        self,
        body: bytes,
        request_headers: Mapping[str, str],
        status: int,
        response_headers: Mapping[str, str],
        response_body: bytes,
        keys: list[str],
        asked_at: float | None = None,
    ) -> Case:
        """Record one REST exchange in its case, made `asked_at` (default: now), and return the case (the result
        files join it)."""
        case = self.case_for(body, keys)
        case.recording.api_key = keys[0] if keys else None
        at = self.clock() if asked_at is None else asked_at
        exchange = case.recording.exchange(
            body, dict(request_headers), status, dict(response_headers), response_body, at=at
        )
        if len(keys) > 1:
            for side in ("request", "response"):
                exchange[side] = scrub_more(exchange[side], keys[1:])
        self.append(case, exchange)
        return case

    def case_for(self, body: bytes, keys: list[str]) -> Case:
        named = named_tasks(body)
        cases = {id(self.by_task[uuid]): self.by_task[uuid] for uuid in named if uuid in self.by_task}
        if len(cases) == 1 and set(named) <= next(iter(cases.values())).task_uuids:
            return next(iter(cases.values()))
        if named and not cases:
            first_uuid, task_type = next(iter(named.items()))
            case = Case(CaseRecording(scrub_all(f"proxy::{task_type} {first_uuid}", keys), None), set(named))
            for uuid in named:
                self.by_task[uuid] = case
            return case
        kinds = "+".join(dict.fromkeys(str(task.get("taskType")) for task in parsed_tasks(body))) or "request"
        return Case(CaseRecording(f"proxy::{kinds} {self.started}-{next(self.serial):04d}", None))

    def has_file(self, url: str) -> bool:
        return url in self.downloaded

    def keep_file(self, url: str, content_type: str, data: bytes) -> str:
        """Write a result file into `files/`; its path relative to the folder, as recordings name it."""
        name = self.file_name_for(url, content_type)
        (self.folder / FILES / name).write_bytes(data)
        self.downloaded[url] = f"{FILES}/{name}"
        return self.downloaded[url]

    def add_download(
        self, case: Case, url: str, content_type: str, file: str, *, media: dict[str, Any] | None, keys: list[str]
    ) -> None:
        """Note a kept result file in the case that handed it out, as `CaseRecording.add_download` does, with the
        local copy's name; `media` is `media_summary` of the file, read by the caller off the event loop."""
        download = {"url": scrub_all(url, keys), "status": 200, "contentType": content_type}
        self.append(case, {"download": {**download, "media": media, "file": file}})

    def file_name_for(self, url: str, content_type: str) -> str:
        """The URL's own file name when it is a plain one not yet taken, else one made from the URL."""
        name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        taken = set(self.downloaded.values())
        if SAFE_NAME.match(name) and f"{FILES}/{name}" not in taken and not (self.folder / FILES / name).exists():
            return name
        extension = {"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov"}.get(content_type, "")
        return hashlib.sha1(url.encode()).hexdigest()[:16] + extension

    def append(self, case: Case, exchange: dict[str, Any]) -> None:
        if case.file is None:
            fields = case.recording.fields(outcome="proxied", target=self.target, media_base_url=None)
            case.file = GrowingRecording(self.folder / file_name(case.recording.case), fields)
        case.file.append(exchange)

    def websocket_conversation(self) -> WebSocketConversation:
        name = f"{self.started}-{next(self.serial):04d}"
        return WebSocketConversation(self.folder / WEBSOCKET_FOLDER, self.target, name, self.clock)


@dataclass
class WebSocketConversation:
    """One relayed WebSocket connection: its text frames in order, each side's, the session's keys scrubbed."""

    folder: Path
    target: str
    name: str
    clock: Callable[[], float] = time.time  # when each frame is relayed
    keys: list[str] = field(default_factory=list)  # the authentication tasks' keys seen so far on this connection
    file: GrowingRecording | None = None  # from the first frame

    def add_frame(self, side: str, text: str) -> None:
        if side == "client":
            self.keys = list(dict.fromkeys([*self.keys, *client_keys(None, text.encode())]))
        frame = scrub_more(encode_body(text.encode(), self.keys[0] if self.keys else None), self.keys[1:])
        self.append({"at": timestamp(self.clock()), "frame": {"from": side, **frame}})

    def add_download(self, url: str, content_type: str, file: str) -> None:
        download = {"url": scrub_all(url, self.keys), "status": 200, "contentType": content_type, "file": file}
        self.append({"download": download})

    def append(self, entry: dict[str, Any]) -> None:
        if self.file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            case = f"proxy::websocket {self.name}"
            fields = {
                "case": case,
                "outcome": "proxied",
                "target": scrub_all(self.target, self.keys),
                "recordedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self.file = GrowingRecording(self.folder / file_name(case), fields, entries="frames")
        self.file.append(entry)
