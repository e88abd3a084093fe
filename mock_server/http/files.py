"""Result and media files served as a CDN serves them: `Range` (206, 416), `HEAD`, `ETag`, `Last-Modified` and
`If-None-Match`/`If-Modified-Since` (304), the body written in chunks, and shaped by the download faults.

The store hands files over as bytes (in memory, or read from `--data-dir`), so this serves bytes rather than
paths: aiohttp's `FileResponse` would need a file on disk for both stores.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import web

from mock_server.faults import MAX_WAIT_SECONDS, DownloadPlan

# The body goes out this many bytes at a time, the loop let go between them: a 45 MB upload written in one go
# held every other request for the time its copy took.
CHUNK_BYTES = 256 * 1024
# A throttled body goes out in pieces of about this long at its rate, so its pace is even.
THROTTLE_STEP_SECONDS = 0.05


@dataclass(frozen=True)
class ServedFile:
    data: bytes
    content_type: str
    etag: str  # quoted, e.g. "\"<uuid>-<size in hex>\"": a file under one name never changes
    last_modified: float | None  # seconds since the epoch; None when not known


async def serve_file(request: web.Request, file: ServedFile, plan: DownloadPlan) -> web.StreamResponse:
    """The file's answer to a GET or HEAD: whole (200), a range of it (206), not modified (304) or a range past
    its end (416). A `Range` of several ranges, or one that cannot be read, is answered whole, as HTTP allows."""
    size = len(file.data)
    headers = {"ETag": file.etag, "Accept-Ranges": "bytes"}
    if file.last_modified is not None:
        headers["Last-Modified"] = email.utils.formatdate(file.last_modified, usegmt=True)
    if _not_modified(request, file):
        return web.Response(status=304, headers=headers)
    status, start, end = 200, 0, size
    wanted = _range(request, file.etag)
    if wanted is not None:
        first, last = wanted
        if first is None:  # the last `last` bytes
            first, last = max(0, size - (last or 0)), size - 1
        if first >= size or (last is not None and last < first):
            headers["Content-Range"] = f"bytes */{size}"
            return web.Response(status=416, headers=headers)
        status, start, end = 206, first, min(size, (size if last is None else last + 1))
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = file.content_type
    response.content_length = end - start
    await response.prepare(request)
    if request.method != "HEAD":
        await _write_body(request, response, memoryview(file.data)[start:end], plan)
    return response


def _not_modified(request: web.Request, file: ServedFile) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or file.etag in tags
    since = request.if_modified_since
    return since is not None and file.last_modified is not None and int(file.last_modified) <= since.timestamp()


def _range(request: web.Request, etag: str) -> tuple[int | None, int | None] | None:
    """(first, last) of a single `bytes=` range, (None, n) for the last n bytes; None to answer the whole file
    (no Range, several ranges, one that cannot be read, or an If-Range naming another version)."""
    text = request.headers.get("Range")
    if text is None or request.headers.get("If-Range", etag) != etag:
        return None
    unit, _, spec = text.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or not all(p.isdigit() for p in (first, last) if p):
        return None
    if not first:
        return None, int(last)
    return int(first), int(last) if last else None


async def _write_body(request: web.Request, response: web.StreamResponse, body: memoryview, plan: DownloadPlan) -> None:
    """The body in chunks, at the plan's rate; cut off where the plan says, by closing the connection."""
    length = len(body) if plan.cut_after is None else min(len(body), plan.cut_after)
    loop = asyncio.get_running_loop()
    step = CHUNK_BYTES
    if plan.bytes_per_second is not None:
        step = max(1, min(CHUNK_BYTES, int(plan.bytes_per_second * THROTTLE_STEP_SECONDS)))
    started = loop.time()
    for offset in range(0, length, step):
        if loop.time() - started > MAX_WAIT_SECONDS:  # a throttled body is cut off there, as any other wait ends
            length = offset
            break
        await response.write(body[offset : min(length, offset + step)])
        if plan.bytes_per_second is not None:  # each byte due at its time from the start: no drift
            await asyncio.sleep(max(0.0, started + (offset + step) / plan.bytes_per_second - loop.time()))
        else:
            await asyncio.sleep(0)
    if length < len(body):
        drop_connection(request)  # the client sees the body end short
    await response.write_eof()


def drop_connection(request: web.Request) -> NoReturn:
    """End the request by closing its connection: nothing more is written, not even an answer."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError
