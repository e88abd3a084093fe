"""`--replay DIR`: recorded requests answered with their recorded answers, offline; anything else goes to the mock
(or, under `--record-mode none`, is refused with `notRecorded`, naming what did not match).

A request is matched by its content: each task with its `taskUUID` left out (a client makes new ones every run)
and its `apiKey` ignored, plus whether it carried a bearer key — except a getResponse, which matches by the
recorded task the client's taskUUID stands for. So a client's submission finds the recorded submission of the same
task; its answer carries the client's taskUUID in place of the recorded one, and from then on the client's UUID
stands for the recorded one. Its polls walk the recorded poll sequence: unpaced (`--replay-speed 0`), one answer
per poll, the last one repeated; paced, the answer the recorded task had reached as long after its submission as
the client's task has been running, times the speed. Requests recorded more than once with the same content (two
runs of a flow) answer in recorded order, the last repeated. Result URLs in replayed answers point at this server,
which serves the files the recording downloaded.

A WebSocket frame is matched the same way, against the client frames of the recorded conversations; it is
answered with the server frames the recording attributes to it (those naming its tasks, or, naming none, the ones
that followed it), each as long after it as recorded, over the speed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server import exceptions
from mock_server.body import read_task_array
from mock_server.exceptions import RunwareError
from mock_server.recording import (
    API_KEY_PLACEHOLDER,
    RESPONSE_HEADERS,
    WEBSOCKET_FOLDER,
    decode_body,
    kept_headers,
    load_conversations,
    load_recordings,
    moment,
)

FILES_PATH = "/recorded"  # where this server serves the recording's result files
SHOWN_VALUE_CHARS = 60  # of a value a refusal quotes: a data URI would fill the message


class _Unreadable:
    def __repr__(self) -> str:
        return "unreadable"


UNREADABLE = _Unreadable()  # a body the mock's reader refuses: matched by its text, as a recording keeps it


async def read_request(raw: bytes, max_tasks: int) -> Any:
    """A request's body as the mock reads it, with the same bounds on the work (`mock_server.body`); UNREADABLE for
    one it refuses (not JSON, nested too deeply, too many values)."""
    try:
        return await read_task_array(raw, max_tasks)
    except RunwareError:
        return UNREADABLE


@dataclass(frozen=True)
class RecordedAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class RecordedFile:
    path: Path
    content_type: str


@dataclass
class RecordedRequest:
    """A recorded request and what answered it: over REST its response, over a WebSocket the server frames the
    recording attributes to it, each with the seconds after the request it came."""

    case: str
    message: dict[str, Any]  # the recorded request or client frame (`body`, `bodyText` or `bodyBase64`)
    at: float | None  # when it was made; None in a recording that kept no times
    answers: list[tuple[float, dict[str, Any]]] = field(default_factory=list)


class RecordedRequests:
    """The recorded requests of one transport, indexed by content, and the state of this replay: which recorded
    task each of the client's taskUUIDs stands for, when the client submitted it, how far each has walked."""

    def __init__(self, result_urls: dict[str, str], speed: float, clock: Callable[[], float]) -> None:
        self.result_urls = result_urls  # recorded result URL → name served under FILES_PATH
        self.speed = speed  # 0: unpaced; 1: the recorded pace; 2: twice as fast
        self.clock = clock
        self.by_key: dict[str, list[RecordedRequest]] = {}  # request key → recorded requests, in order
        self.submitted_at: dict[str, float | None] = {}  # recorded taskUUID → when the recording submitted it
        self.stands_for: dict[str, str] = {}  # the client's taskUUID → the recorded one
        self.client_submitted: dict[str, float] = {}  # the client's taskUUID → when this replay acknowledged it
        self.asked: Counter[str] = Counter()

    def add(self, recorded: RecordedRequest) -> None:
        self.by_key.setdefault(recorded_key(recorded.message), []).append(recorded)
        for task in _tasks(recorded.message.get("body")):
            if not _polled(task) and isinstance(task.get("taskUUID"), str):
                self.submitted_at.setdefault(task["taskUUID"], recorded.at)

    def add_conversation(self, case: str, frames: list[dict[str, Any]]) -> None:
        """A recorded WebSocket conversation: each client frame a request, each server frame an answer of the
        latest client frame naming one of its taskUUIDs, or of the latest client frame before it."""
        latest: RecordedRequest | None = None
        by_uuid: dict[str, RecordedRequest] = {}
        for entry in frames:
            if "frame" not in entry:
                continue  # a download
            frame, at = entry["frame"], moment(entry)
            if frame["from"] == "client":
                latest = RecordedRequest(case, frame, at)
                self.add(latest)
                by_uuid |= {uuid: latest for uuid in _task_uuids(frame.get("body"))}
                continue
            owner = next((by_uuid[uuid] for uuid in _answered_uuids(frame.get("body")) if uuid in by_uuid), latest)
            if owner is not None:
                # To the millisecond, as the times are kept: 0.2 s apart, not 0.20000004.
                delay = round(at - owner.at, 3) if at is not None and owner.at is not None else 0.0
                owner.answers.append((max(0.0, delay), frame))

    def answer(
        self, raw: bytes, tasks: Any, *, has_key: bool, base_url: str
    ) -> list[tuple[float, RecordedAnswer]] | None:
        """The recorded answers to this request (`raw`, read as `tasks` by `read_request`), made the client's, each
        with the seconds to wait before it (at this replay's speed); None when nothing recorded matches."""
        if tasks is UNREADABLE:
            return self.walk(match_key(raw.decode(errors="replace"), has_key), None, None, base_url)
        if any(_polled(task) and task["taskUUID"] not in self.stands_for for task in _tasks(tasks)):
            return None  # a poll of a task this replay did not answer
        try:
            key = match_key(normalised(tasks, self.stands_for.__getitem__), has_key)
            # Each client task walks its own poll sequence, even when two stand for the same recorded task.
            walker = match_key(normalised(tasks, lambda uuid: uuid), has_key)
        except RecursionError:  # read, but too deep to write out again: as deep as no recorded request is
            return None
        return self.walk(key, walker, tasks, base_url)

    def walk(
        self, key: str, walker: str | None, tasks: Any, base_url: str
    ) -> list[tuple[float, RecordedAnswer]] | None:
        recorded = self.by_key.get(key)
        if not recorded:
            return None
        chosen = self.at_pace(recorded, tasks)
        if chosen is None:
            walker = walker or key
            chosen = recorded[min(self.asked[walker], len(recorded) - 1)]
            self.asked[walker] += 1
        renamed = self.client_names(chosen.message.get("body"), tasks)
        return [
            (delay / self.speed if self.speed else 0.0, self.made_local_answer(response, renamed, base_url))
            for delay, response in chosen.answers
        ]

    def at_pace(self, recorded: list[RecordedRequest], tasks: Any) -> RecordedRequest | None:
        """For a poll at a speed above 0: the latest recorded poll that was made no later, after its task's
        submission, than the client's task has been running times the speed (before the first, the first). None
        unpaced, for other requests, and where the recording kept no times."""
        polled = [task["taskUUID"] for task in _tasks(tasks) if _polled(task)]
        if not self.speed or not polled:
            return None
        started = self.client_submitted.get(polled[0])
        submitted = self.submitted_at.get(self.stands_for[polled[0]])
        if started is None or submitted is None or any(entry.at is None for entry in recorded):
            return None
        reached = submitted + (self.clock() - started) * self.speed
        passed = [entry for entry in recorded if entry.at is not None and entry.at <= reached]
        return passed[-1] if passed else recorded[0]

    def client_names(self, recorded_tasks: Any, tasks: Any) -> dict[str, str]:
        """recorded taskUUID → the client's, task by task; new tasks' UUIDs now stand for the recorded ones."""
        renamed = {}
        for then, now in zip(_tasks(recorded_tasks), _tasks(tasks), strict=False):
            if isinstance(then.get("taskUUID"), str) and isinstance(now.get("taskUUID"), str):
                renamed[then["taskUUID"]] = now["taskUUID"]
                if not _polled(now) and now["taskUUID"] not in self.stands_for:
                    self.stands_for[now["taskUUID"]] = then["taskUUID"]
                    self.client_submitted[now["taskUUID"]] = self.clock()
        return renamed

    def made_local_answer(self, response: dict[str, Any], renamed: dict[str, str], base_url: str) -> RecordedAnswer:
        if "body" in response:
            body = json.dumps(self.made_local(response["body"], renamed, base_url)).encode()
        else:
            body = decode_body(response)
        # Only the headers the format records: a hand-made recording's Content-Length, Transfer-Encoding or
        # Connection would frame the body otherwise than it is sent, and hang the client.
        headers = kept_headers(response.get("headers", {}), RESPONSE_HEADERS, None)
        return RecordedAnswer(response.get("status", 200), headers, body)

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

    def mismatch(self, tasks: Any, *, has_key: bool) -> RunwareError:
        """Why nothing recorded matches this request (read by `read_request`), as the error `--record-mode none`
        answers with: the poll of a task the replay never answered, or where the nearest recorded request differs."""
        if tasks is UNREADABLE:
            return exceptions.NOT_RECORDED(
                "The recording holds no request with this body, which does not read as JSON (or is nested too deeply)."
            )
        for task in _tasks(tasks):
            if _polled(task) and task["taskUUID"] not in self.stands_for:
                return exceptions.NOT_RECORDED(
                    f"getResponse of taskUUID {task['taskUUID']}: no task this replay answered has that taskUUID "
                    "(submit a recorded task first).",
                    parameter="taskUUID",
                    task_type="getResponse",
                    task_uuid=task["taskUUID"],
                )
        sent = normalised(tasks, self.stands_for.__getitem__)
        candidates = [(recorded[0], *json.loads(key)) for key, recorded in self.by_key.items()]
        if not candidates:
            return exceptions.NOT_RECORDED("The recording holds no request of this transport.")
        try:
            nearest, recorded_has_key, recorded_content = min(
                candidates, key=lambda c: len(differences(sent, c[2])) + (c[1] != has_key)
            )
            differing = differences(sent, recorded_content)
        except RecursionError:
            return exceptions.NOT_RECORDED("No recorded request matches this one, nested too deeply to compare.")
        if recorded_has_key != has_key:
            differing.insert(0, ("Authorization", has_key, recorded_has_key))
        where, now, then = differing[0]
        more = f" (and {', '.join(name for name, _, _ in differing[1:4])})" if len(differing) > 1 else ""
        return exceptions.NOT_RECORDED(
            f"No recorded request matches. The nearest, in {nearest.case}, differs in {where}{more}: "
            f"sent {_shown(now)}, recorded {_shown(then)}.",
            parameter=where,
        )


class Recordings:
    """A recording folder: its REST exchanges and its WebSocket conversations, each transport's indexed apart, and
    the result files they hand out."""

    def __init__(self, folder: Path, *, speed: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        if not folder.is_dir():
            raise ValueError(f"--replay {folder}: not a folder")
        self.result_urls: dict[str, str] = {}  # recorded result URL → name served under FILES_PATH
        self.files: dict[str, RecordedFile] = {}  # served name → the file
        self.rest = RecordedRequests(self.result_urls, speed, clock)
        self.websocket = RecordedRequests(self.result_urls, speed, clock)
        for _, recording in load_recordings(folder):
            for exchange in recording["exchanges"]:
                if "request" in exchange and "response" in exchange:
                    case = str(recording.get("case", "?"))
                    recorded = RecordedRequest(case, exchange["request"], moment(exchange))
                    recorded.answers.append((0.0, exchange["response"]))
                    self.rest.add(recorded)
                self.add_file(folder, exchange)
        for _, conversation in load_conversations(folder / WEBSOCKET_FOLDER):
            self.websocket.add_conversation(str(conversation.get("case", "?")), conversation["frames"])
            for entry in conversation["frames"]:
                self.add_file(folder, entry)

    def add_file(self, folder: Path, entry: dict[str, Any]) -> None:
        download = entry.get("download")
        if not isinstance(download, dict) or not download.get("file"):
            return
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

    def answer(self, raw: bytes, tasks: Any, *, has_key: bool, base_url: str) -> RecordedAnswer | None:
        """The recorded answer to this REST request, made the client's; None when nothing recorded matches."""
        answers = self.rest.answer(raw, tasks, has_key=has_key, base_url=base_url)
        return answers[0][1] if answers else None


def recorded_key(request: dict[str, Any]) -> str:
    has_key = bool(request.get("headers", {}).get("Authorization"))
    if "body" not in request:
        return match_key(decode_body(request).decode(errors="replace"), has_key)
    return match_key(normalised(request["body"], lambda uuid: uuid), has_key)


def _tasks(body: Any) -> list[dict[str, Any]]:
    return [task for task in body if isinstance(task, dict)] if isinstance(body, list) else []


def _polled(task: dict[str, Any]) -> bool:
    return task.get("taskType") == "getResponse" and isinstance(task.get("taskUUID"), str)


def _task_uuids(body: Any) -> list[str]:
    return [task["taskUUID"] for task in _tasks(body) if isinstance(task.get("taskUUID"), str)]


def _answered_uuids(body: Any) -> list[str]:
    """The taskUUIDs a server frame's items and errors name."""
    if not isinstance(body, dict):
        return []
    return [uuid for part in ("data", "errors") for uuid in _task_uuids(body.get(part))]


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


class _Absent:
    def __repr__(self) -> str:
        return "nothing"


ABSENT = _Absent()


def differences(sent: Any, recorded: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where two matched forms of a request differ: (parameter path, sent value, recorded value), in the order
    the client sent them. In a task array the task's own parameters are named (`inputs.audio`), with its
    position when there are several (`[1].inputs.audio`)."""
    if isinstance(sent, dict) and isinstance(recorded, dict):
        names = dict.fromkeys([*sent, *recorded])
        return [
            found
            for name in names
            for found in differences(sent.get(name, ABSENT), recorded.get(name, ABSENT), f"{path}.{name}".lstrip("."))
        ]
    if isinstance(sent, list) and isinstance(recorded, list) and len(sent) == len(recorded):
        one_task = not path and len(sent) == 1
        return [
            found
            for index, (now, then) in enumerate(zip(sent, recorded, strict=True))
            for found in differences(now, then, "" if one_task else f"{path}[{index}]")
        ]
    return [] if sent == recorded else [(path or "(the body)", sent, recorded)]


def _shown(value: Any) -> str:
    if isinstance(value, str):  # cut before it is written out: it may be megabytes of base64
        value = value[:SHOWN_VALUE_CHARS]
    text = repr(value) if value is ABSENT else json.dumps(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"
