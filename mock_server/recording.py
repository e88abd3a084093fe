"""The recording format: every exchange of one test case in one readable JSON file, the API key scrubbed, so a run
against the real service can be committed and replayed later. The contract suite writes it (`--record`), the
proxy writes it (`mock_server.http.recorder`), `--replay` and `lipsync-contract drift` read it.

Both the server and the contract suite import this module, and it imports neither: nothing of the server's
machinery, no aiohttp, and PyAV only when a result file is read (`media_summary`).

A file holds the case, its outcome, the target, the media base URL its tasks named, and the exchanges in order:

    {"at": "2025-06-01T22:10:01.123+00:00",
     "request": {"method": "POST", "headers": {…}, "body": […]},
     "response": {"status": 400, "headers": {…}, "body": {"errors": […]}}}
    {"download": {"url": …, "status": 200, "contentType": "video/mp4", "media": {"container": …, "duration": 1.0}}}

`at` is when the exchange was made (UTC, to the millisecond): a replay paces a task's polls by it. Recordings made
before it was kept have none, and still load; they replay unpaced. A WebSocket conversation (written by the proxy
into `websocket/`) holds `frames` instead: `{"at": …, "frame": {"from": "client" | "server", "body": …}}`.

A body that is JSON and serialises back to the same bytes is kept as `body`; any other as `bodyText` (UTF-8) or
`bodyBase64`, so a replay sends exactly what was sent. Polls are exchanges like any other: a task's poll sequence
up to its outcome is the run of getResponse exchanges naming it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

API_KEY_PLACEHOLDER = "<api-key>"
# A key shorter than this is only scrubbed where it is a whole value: as a substring it could be part of
# ordinary words ("k" in "taskType").
SUBSTRING_SCRUB_MIN = 8
REQUEST_HEADERS = ("Content-Type", "Authorization", "X-Mock-Fault")
RESPONSE_HEADERS = ("Content-Type", "Retry-After", "Allow")
WEBSOCKET_FOLDER = "websocket"  # where a recording's WebSocket conversations are, apart from its exchanges


def timestamp(seconds: float) -> str:
    """A moment as recordings keep it (`at`): ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def moment(entry: dict[str, Any]) -> float | None:
    """An entry's `at` in seconds since the epoch; None for a recording that kept no times."""
    return datetime.fromisoformat(entry["at"]).timestamp() if "at" in entry else None


def scrub(value: Any, secret: str | None) -> Any:
    """`value` (JSON) with every occurrence of `secret` replaced by the placeholder; object keys are kept."""
    if not secret:
        return value
    if isinstance(value, str):
        if value == secret:
            return API_KEY_PLACEHOLDER
        return value.replace(secret, API_KEY_PLACEHOLDER) if len(secret) >= SUBSTRING_SCRUB_MIN else value
    if isinstance(value, dict):
        return {key: scrub(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, secret) for item in value]
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def encode_body(body: bytes, secret: str | None) -> dict[str, Any]:
    """`{"body": json}`, `{"bodyText": str}` or `{"bodyBase64": str}`, whichever gives the bytes back exactly."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        if secret and len(secret) >= SUBSTRING_SCRUB_MIN:
            body = body.replace(secret.encode(), API_KEY_PLACEHOLDER.encode())
        return {"bodyBase64": base64.b64encode(body).decode()}
    try:
        parsed = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return {"bodyText": scrub(text, secret)}
    scrubbed = scrub(text, secret)
    if json.dumps(parsed) == text or (secret and holds_secret(scrubbed, secret)):
        # A key spelt with escapes outlives the scrub of the text: the parsed body is kept instead, scrubbed and
        # no longer byte for byte.
        return {"body": scrub(parsed, secret)}
    return {"bodyText": scrubbed}


def holds_secret(text: str, secret: str) -> bool:
    """Whether `text`, read as JSON, holds `secret`: spelt with escapes (`\\u0073ecret`), it is not in the text
    as such."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return False
    return scrub(value, secret) != value


def decode_body(message: dict[str, Any]) -> bytes:
    """The bytes a recorded request or response carried (placeholders left in)."""
    if "body" in message:
        return json.dumps(message["body"]).encode()
    if "bodyText" in message:
        return message["bodyText"].encode()
    return base64.b64decode(message.get("bodyBase64", ""))


def kept_headers(headers: dict[str, str], names: tuple[str, ...], secret: str | None) -> dict[str, str]:
    by_lower = {name.lower(): value for name, value in headers.items()}
    return {name: _scrub_header(by_lower[name.lower()], secret) for name in names if name.lower() in by_lower}


def _scrub_header(value: str, secret: str | None) -> str:
    """A header with the key scrubbed; a credential (`Bearer KEY`) is scrubbed whole, whatever the key's
    length, so a short key never stays in clear."""
    scheme, space, credential = value.partition(" ")
    if space and secret and credential.strip() == secret:
        return f"{scheme} {API_KEY_PLACEHOLDER}"
    return scrub(value, secret)


def media_summary(data: bytes) -> dict[str, Any] | None:
    """What the drift check compares of a result file: its container and duration."""
    # Imported here: a contract run that reads no result file (free cases against the real service) needs no PyAV.
    import av

    from mock_server.media import probe

    try:
        info = probe(data)
    except av.FFmpegError:
        return None
    return {
        "container": info.container,
        "brand": info.brand,
        "videoCodec": info.video_codec,
        "audioCodec": info.audio_codec,
        "duration": round(info.duration, 3),
    }


@dataclass
class CaseRecording:
    """The exchanges of one test case, as `ApiClient` makes them."""

    case: str  # e.g. "contract_tests.test_flow::test_polling_an_unknown_task_is_an_error"
    api_key: str | None  # scrubbed from everything kept
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    clock: Callable[[], float] = time.time  # when an exchange is made (`at`)

    def add_exchange(
        self,
        body: bytes,
        request_headers: dict[str, str],
        status: int,
        response_headers: dict[str, str],
        response_body: bytes,
    ) -> None:
        self.exchanges.append(self.exchange(body, request_headers, status, response_headers, response_body))

    def exchange(
        self,
        body: bytes,
        request_headers: dict[str, str],
        status: int,
        response_headers: dict[str, str],
        response_body: bytes,
        at: float | None = None,
    ) -> dict[str, Any]:
        """One exchange as the format keeps it, the key scrubbed; made `at` (default: now, as it is answered)."""
        request = {
            "method": "POST",
            "headers": kept_headers(request_headers, REQUEST_HEADERS, self.api_key),
            **encode_body(body, self.api_key),
        }
        response = {
            "status": status,
            "headers": kept_headers(response_headers, RESPONSE_HEADERS, self.api_key),
            **encode_body(response_body, self.api_key),
        }
        return {"at": timestamp(self.clock() if at is None else at), "request": request, "response": response}

    def add_download(self, url: str, status: int, content_type: str, data: bytes) -> None:
        download = {"url": scrub(url, self.api_key), "status": status, "contentType": content_type}
        self.exchanges.append({"download": {**download, "media": media_summary(data)}})

    def fields(self, *, outcome: str, target: str, media_base_url: str | None) -> dict[str, Any]:
        """What a recording file says of its case, before its exchanges."""
        return {
            "case": self.case,
            "outcome": outcome,
            "target": scrub(target, self.api_key),
            "mediaBaseUrl": media_base_url,
            "recordedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def write(self, folder: Path, *, outcome: str, target: str, media_base_url: str | None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            **self.fields(outcome=outcome, target=target, media_base_url=media_base_url),
            "exchanges": self.exchanges,
        }
        path = folder / file_name(self.case)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return path


class GrowingRecording:
    """A recording file written as it grows: its fields once, then each entry written in place of the closing
    brackets. The file is a whole recording after every write, laid out as `CaseRecording.write` lays it out, and
    a write costs one entry however long the file already is (rewriting it all made the 3,000th poll of a task
    recorded by the proxy 14 times as slow as the first)."""

    CLOSING = "\n  ]\n}\n"

    def __init__(self, path: Path, fields: dict[str, Any], entries: str = "exchanges") -> None:
        self.path = path
        self.written = 0
        head = json.dumps(fields, indent=2, ensure_ascii=False).removesuffix("\n}")
        path.write_text(f'{head},\n  "{entries}": [{self.CLOSING}')

    def append(self, entry: dict[str, Any]) -> None:
        indented = "\n".join("    " + line for line in json.dumps(entry, indent=2, ensure_ascii=False).splitlines())
        with self.path.open("r+b") as file:
            file.seek(-len(self.CLOSING), os.SEEK_END)
            file.write(f"{',' if self.written else ''}\n{indented}{self.CLOSING}".encode())
        self.written += 1


def file_name(case: str) -> str:
    """A file name that reads like the case and stays unique when parameters differ only in punctuation."""
    readable = case.removeprefix("contract_tests.").replace("::", ".")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable).strip("_")[:100]
    return f"{readable}-{hashlib.sha1(case.encode()).hexdigest()[:8]}.json"


def load_recordings(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every recording in `folder`, by file name; raises ValueError, in one line, for a file that is not one."""
    return _load(folder, "exchanges", exchange_problem, "a recording")


def load_conversations(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every WebSocket conversation in `folder` (a recording's `websocket/`), by file name; none when it is absent.
    Raises ValueError, in one line, for a file that is not one."""
    return _load(folder, "frames", frame_problem, "a WebSocket conversation")


def _load(
    folder: Path, entries: str, problem_of: Callable[[Any], str | None], kind: str
) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (ValueError, RecursionError) as error:
            raise ValueError(f"{path}: not JSON ({error})") from None
        if not isinstance(document, dict) or not isinstance(document.get(entries), list):
            raise ValueError(f"{path}: not {kind} (no {entries})")
        for index, entry in enumerate(document[entries]):
            problem = problem_of(entry)
            if problem is not None:
                raise ValueError(f"{path}: {entries}[{index}]{problem}")
        found.append((path, document))
    return found


# What a recording may hold is checked when it is read, so a replay or a drift check never meets a value it
# cannot send: a file may come from anyone. A header must be one a server can send as it stands.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
HEADER_VALUE_FORBIDDEN = re.compile(r"[\r\n\x00]")


def exchange_problem(exchange: Any) -> str | None:
    """What makes `exchange` no exchange of the format (`.response.status: …`), or None."""
    if not isinstance(exchange, dict):
        return ": not an object"
    problem = _time_problem(exchange)
    if problem is not None:
        return problem
    if "download" in exchange:
        download = exchange["download"]
        if not isinstance(download, dict):
            return ".download: not an object"
        for name in ("url", "file", "contentType"):
            if name in download and not isinstance(download[name], str):
                return f".download.{name}: not a string"
        if not isinstance(download.get("url"), str):
            return ".download.url: missing"
        if HEADER_VALUE_FORBIDDEN.search(download.get("contentType", "")):
            return ".download.contentType: holds a line break"
        return None
    if not isinstance(exchange.get("request"), dict) or not isinstance(exchange.get("response"), dict):
        return ": neither a request with its response nor a download"
    for side in ("request", "response"):
        problem = _message_problem(exchange[side])
        if problem is not None:
            return f".{side}{problem}"
    status = exchange["response"].get("status")
    if type(status) is not int or not 200 <= status <= 599:
        return f".response.status: {status!r} is not an HTTP status of an answer (200-599)"
    return None


def frame_problem(entry: Any) -> str | None:
    """What makes `entry` no entry of a WebSocket conversation (`.frame.from: …`), or None."""
    if isinstance(entry, dict) and "download" in entry:
        return exchange_problem(entry)
    if not isinstance(entry, dict) or not isinstance(entry.get("frame"), dict):
        return ": neither a frame nor a download"
    problem = _time_problem(entry)
    if problem is not None:
        return problem
    if entry["frame"].get("from") not in ("client", "server"):
        return ".frame.from: neither client nor server"
    problem = _message_problem(entry["frame"])
    return None if problem is None else f".frame{problem}"


def _time_problem(entry: dict[str, Any]) -> str | None:
    if "at" not in entry:
        return None
    try:
        when = datetime.fromisoformat(entry["at"]) if isinstance(entry["at"], str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return f".at: {entry['at']!r} is not a moment in ISO 8601 with its UTC offset"
    return None


def _message_problem(message: dict[str, Any]) -> str | None:
    headers = message.get("headers", {})
    if not isinstance(headers, dict):
        return ".headers: not an object"
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            return f".headers: {name!r} is not a header name"
        if not isinstance(value, str) or HEADER_VALUE_FORBIDDEN.search(value):
            return f".headers.{name}: not a string on one line"
    if "bodyText" in message and not isinstance(message["bodyText"], str):
        return ".bodyText: not a string"
    if "bodyBase64" in message:
        try:
            base64.b64decode(message["bodyBase64"], validate=True)
        except (TypeError, ValueError):
            return ".bodyBase64: not base64"
    return None
