"""The request journal as an HTTP Archive (HAR 1.2), for browsers' devtools and the other tools that read HAR.

Each journal entry is one HAR entry: the task array as a `POST /v1` and the answer. The journal keeps bodies,
not headers, so each side carries only its `Content-Type`; it keeps no API key (an `apiKey` in a body is
already redacted there, and the `Authorization` header is never kept), so neither does the archive. An entry
the journal cut at its limit says so in its `comment`; a connection dropped without an answer (an injected
fault) has status 0, as devtools show a request that got none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from typing import Any

from mock_server.journal import JournalEntry

HAR_VERSION = "1.2"
JSON = "application/json"
_PLAIN_HEADERS = [{"name": "Content-Type", "value": JSON}]


def journal_har(entries: Iterable[JournalEntry], base_url: str) -> dict[str, Any]:
    """The HAR document of `entries`, as requests to the task endpoint under `base_url`."""
    return {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "lipsync-mock", "version": _version()},
            "entries": [_entry(entry, f"{base_url}/v1") for entry in entries],
        }
    }


def _version() -> str:
    try:
        return metadata.version("lipsync-mock")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _entry(entry: JournalEntry, url: str) -> dict[str, Any]:
    request_text = entry.request.decode(errors="replace")
    answered = entry.status != 0
    har: dict[str, Any] = {
        "startedDateTime": datetime.fromtimestamp(entry.received_at - entry.seconds, UTC).isoformat(
            timespec="milliseconds"
        ),
        "time": round(entry.seconds * 1000, 3),  # ms; the journal times the answer, not the transfers
        "request": {
            "method": "POST",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _PLAIN_HEADERS,
            "queryString": [],
            "postData": {"mimeType": JSON, "text": request_text},
            "headersSize": -1,
            "bodySize": len(entry.request),
        },
        "response": {
            "status": entry.status,
            "statusText": _reason(entry.status),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _PLAIN_HEADERS if answered else [],
            "content": {
                "size": len(entry.response.encode()) if answered else 0,
                "mimeType": JSON if answered else "x-unknown",
                "text": entry.response if answered else "",
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(entry.response.encode()) if answered else 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(entry.seconds * 1000, 3), "receive": 0},
        "_journalId": entry.id,
        "_namespace": entry.namespace,
    }
    notes = []
    if entry.truncated:
        notes.append("The request or the answer was longer than the journal keeps: cut at its limit.")
    if not answered:
        notes.append("The connection was closed without an answer (an injected fault).")
    if notes:
        har["comment"] = " ".join(notes)
    return har


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
