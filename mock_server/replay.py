"""`--replay DIR`: recorded requests answered with their recorded answers, offline; anything else goes to the mock.

A request is matched by its content: each task with its `taskUUID` left out (a client makes new ones every run)
and its `apiKey` ignored, plus whether it carried a bearer key — except a getResponse, which matches by the
recorded task the client's taskUUID stands for. So a client's submission finds the recorded submission of the same
task; its answer carries the client's taskUUID in place of the recorded one, and from then on the client's UUID
stands for the recorded one: its polls walk the recorded poll sequence, one answer per poll, the last one repeated.
Requests recorded more than once with the same content (two runs of a flow) answer in recorded order, the last
repeated. Result URLs in replayed answers point at this server, which serves the files the recording downloaded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server.recording import (
    API_KEY_PLACEHOLDER,
    RESPONSE_HEADERS,
    decode_body,
    kept_headers,
    load_recordings,
)

FILES_PATH = "/recorded"  # where this server serves the recording's result files


@dataclass(frozen=True)
class RecordedAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class RecordedFile:
    path: Path
    content_type: str


class Recordings:
    """The recorded exchanges of a folder, indexed by request content, and the state of this replay: which
    recorded task each of the client's taskUUIDs stands for, and how far each request has walked its answers."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ValueError(f"--replay {folder}: not a folder")
        self.answers: dict[str, list[dict[str, Any]]] = {}  # request key → recorded exchanges, in order
        self.result_urls: dict[str, str] = {}  # recorded result URL → name served under FILES_PATH
        self.files: dict[str, RecordedFile] = {}  # served name → the file
        self.stands_for: dict[str, str] = {}  # the client's taskUUID → the recorded one
        self.asked: Counter[str] = Counter()
        for _, recording in load_recordings(folder):
            for exchange in recording["exchanges"]:
                if "request" in exchange and "response" in exchange:
                    key = self.recorded_key(exchange["request"])
                    self.answers.setdefault(key, []).append(exchange)
                elif isinstance(exchange.get("download"), dict) and exchange["download"].get("file"):
                    self.add_file(folder, exchange["download"])

    def add_file(self, folder: Path, download: dict[str, Any]) -> None:
        # Only a regular file inside the folder, links followed: a recording is a folder anyone may hand over,
        # and `files/e.mp4` may be a link to /etc/passwd.
        try:
            path = (folder / download["file"]).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a loop of links
            return
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            return
        self.result_urls[download["url"]] = path.name
        self.files[path.name] = RecordedFile(path, download.get("contentType", "video/mp4"))

    @staticmethod
    def recorded_key(request: dict[str, Any]) -> str:
        has_key = bool(request.get("headers", {}).get("Authorization"))
        if "body" not in request:
            return match_key(decode_body(request).decode(errors="replace"), has_key)
        return match_key(normalised(request["body"], lambda uuid: uuid), has_key)

    def answer(self, body: bytes, *, has_key: bool, base_url: str) -> RecordedAnswer | None:
        """The recorded answer to this request, made the client's; None when nothing recorded matches."""
        try:
            tasks = json.loads(body)
        except (ValueError, RecursionError):
            return self.walk(match_key(body.decode(errors="replace"), has_key), None, {}, base_url)
        if any(_polled(task) and task["taskUUID"] not in self.stands_for for task in _tasks(tasks)):
            return None  # a poll of a task this replay did not answer: the mock's
        key = match_key(normalised(tasks, self.stands_for.__getitem__), has_key)
        # Each client task walks its own poll sequence, even when two stand for the same recorded task.
        walker = match_key(normalised(tasks, lambda uuid: uuid), has_key)
        return self.walk(key, walker, tasks, base_url)

    def walk(self, key: str, walker: str | None, tasks: Any, base_url: str) -> RecordedAnswer | None:
        recorded = self.answers.get(key)
        if not recorded:
            return None
        walker = walker or key
        exchange = recorded[min(self.asked[walker], len(recorded) - 1)]
        self.asked[walker] += 1
        renamed = self.client_names(exchange["request"].get("body"), tasks)
        response = exchange["response"]
        if "body" in response:
            body = json.dumps(self.made_local(response["body"], renamed, base_url)).encode()
        else:
            body = decode_body(response)
        # Only the headers the format records: a hand-made recording's Content-Length, Transfer-Encoding or
        # Connection would frame the body otherwise than it is sent, and hang the client.
        return RecordedAnswer(
            response["status"], kept_headers(response.get("headers", {}), RESPONSE_HEADERS, None), body
        )

    def client_names(self, recorded_tasks: Any, tasks: Any) -> dict[str, str]:
        """recorded taskUUID → the client's, task by task; new tasks' UUIDs now stand for the recorded ones."""
        renamed = {}
        for then, now in zip(_tasks(recorded_tasks), _tasks(tasks), strict=False):
            if isinstance(then.get("taskUUID"), str) and isinstance(now.get("taskUUID"), str):
                renamed[then["taskUUID"]] = now["taskUUID"]
                if not _polled(now):
                    self.stands_for[now["taskUUID"]] = then["taskUUID"]
        return renamed

    def made_local(self, value: Any, renamed: dict[str, str], base_url: str) -> Any:
        """A recorded body with the client's taskUUIDs and result URLs on this server."""
        if isinstance(value, dict):
            return {name: self.made_local(item, renamed, base_url) for name, item in value.items()}
        if isinstance(value, list):
            return [self.made_local(item, renamed, base_url) for item in value]
        if isinstance(value, str) and value in self.result_urls:
            return f"{base_url}{FILES_PATH}/{self.result_urls[value]}"
        if isinstance(value, str):
            return renamed.get(value, value)
        return value


def _tasks(body: Any) -> list[dict[str, Any]]:
    return [task for task in body if isinstance(task, dict)] if isinstance(body, list) else []


def _polled(task: dict[str, Any]) -> bool:
    return task.get("taskType") == "getResponse" and isinstance(task.get("taskUUID"), str)


def normalised(body: Any, recorded_uuid: Callable[[str], str]) -> Any:
    """The request as it is matched: a polled taskUUID as the recorded task it stands for (`recorded_uuid`), any
    other taskUUID left out, every apiKey the placeholder."""
    if not isinstance(body, list):
        return body
    tasks = []
    for task in body:
        if not isinstance(task, dict):
            tasks.append(task)
            continue
        task = {name: value for name, value in task.items() if name != "taskUUID" or _polled(task)}
        if _polled(task):
            task["taskUUID"] = recorded_uuid(task["taskUUID"])
        if "apiKey" in task:
            task["apiKey"] = API_KEY_PLACEHOLDER
        tasks.append(task)
    return tasks


def match_key(content: Any, has_key: bool) -> str:
    return json.dumps([has_key, content], sort_keys=True)
