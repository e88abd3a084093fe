"""Media inputs: the bytes behind a reference, whatever form the client gave it in.

A reference is an http(s) URL (fetched, loopback included), a data URI, plain base64, or the UUID of a
`mediaStorage` upload. Every failure is a platform-style error naming the input.

A download that gets no answer says only that, whatever the reason: "connection refused" against "timed out"
would tell whoever submitted the task which ports on the mock's machine are open. The reason goes to the
server's log, where the operator sees it.
"""

from __future__ import annotations

import asyncio
import binascii
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from mock_server import exceptions
from mock_server.exceptions import RunwareError
from mock_server.outbound import OUTBOUND_HEADERS, HostPolicy
from mock_server.store import Media

log = logging.getLogger(__name__)

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATA_URI_HEADER = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*)$")


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = 100 * 1024 * 1024  # per input, fetched or inline
    fetch_timeout: float = 30.0  # seconds for a whole download


MAX_REDIRECTS = 5
# Base64 is decoded this many characters at a time (a multiple of 4: whole groups).
DECODE_SLICE_CHARS = 1 << 20
# Inline media from this length on is decoded in a thread, off the event loop.
DECODE_IN_THREAD_CHARS = 256 * 1024


class MediaLoader:
    def __init__(
        self,
        uploads: Callable[[str], Media | None],
        limits: MediaLimits | None = None,
        hosts: HostPolicy | None = None,
    ) -> None:
        self.uploads = uploads
        self.limits = limits or MediaLimits()
        self.hosts = hosts or HostPolicy()
        self._session: aiohttp.ClientSession | None = None

    async def load(self, reference: str, parameter: str, owner: str) -> Media:
        """The bytes behind `reference`; an upload only when `owner` made it."""
        if reference.startswith(("http://", "https://")):
            return await self._fetch(reference, parameter)
        if UUID.match(reference):
            found = self.uploads(reference.lower())
            if found is None or found.owner != owner:
                raise exceptions.MEDIA_NOT_FOUND(
                    f"{parameter}: no uploaded media has the UUID {reference}.", parameter=parameter
                )
            return found
        if len(reference) < DECODE_IN_THREAD_CHARS:
            return self._inline(reference, parameter)
        return await asyncio.to_thread(self._inline, reference, parameter)  # 90 MB take a second or two

    def _inline(self, reference: str, parameter: str) -> Media:
        """Media given in the request itself: a data URI or plain base64."""
        if len(reference) * 3 // 4 > self.limits.max_bytes + 1024:  # before any work on a huge string (1 kB: a header)
            raise _too_large(parameter, self.limits.max_bytes)
        if reference.startswith("data:"):
            comma = reference.find(",")  # the header alone is matched and no copy of the data made: up to 100 MB
            match = DATA_URI_HEADER.match(reference, 0, max(comma, 0))
            if comma < 0 or match is None or ";base64" not in match["params"]:
                raise _unreadable(parameter, "a data URI must be base64-encoded (data:<type>;base64,<data>)")
            return Media(self._decode(reference, parameter, comma + 1), match["type"] or "application/octet-stream")
        return Media(self._decode(reference, parameter), "application/octet-stream")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _decode(self, text: str, parameter: str, start: int = 0) -> bytes:
        """The base64 from `start` on, decoded a slice at a time: never a whole copy of the text as bytes, and
        the decoded bytes handed over without a copy (`BytesIO.getvalue` shares its buffer; `bytes(bytearray)` would
        copy 45 MB for a 60 MB data URI)."""
        if (len(text) - start) * 3 // 4 > self.limits.max_bytes:
            raise _too_large(parameter, self.limits.max_bytes)
        decoded = io.BytesIO()
        try:
            for offset in range(start, len(text), DECODE_SLICE_CHARS):
                decoded.write(binascii.a2b_base64(text[offset : offset + DECODE_SLICE_CHARS], strict_mode=True))
        except (binascii.Error, ValueError):
            raise _unreadable(parameter, "it is not a URL, a data URI, a media UUID or base64") from None
        return decoded.getvalue()

    async def _fetch(self, url: str, parameter: str) -> Media:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=OUTBOUND_HEADERS)
        try:
            # One deadline for the whole download, redirects included.
            async with asyncio.timeout(self.limits.fetch_timeout):
                return await self._follow(url, parameter, self._session)
        except TimeoutError:
            reason = f"no answer within {self.limits.fetch_timeout:g} s"
        except aiohttp.ClientError as error:
            reason = str(error) or type(error).__name__
        # The host only: a URL's path and query can hold a signed link's secret, and no body is ever logged.
        log.warning("%s: a download from %s failed: %s", parameter, URL(url).host, reason)
        raise _download_failed(parameter, url, "no answer (the mock's log says why)")

    async def _follow(self, url: str, parameter: str, session: aiohttp.ClientSession) -> Media:
        """GET `url`, following redirects only where the policy allows, each hop checked."""
        for _ in range(MAX_REDIRECTS + 1):
            refusal = self.hosts.refusal(url)
            if refusal is not None:
                raise _download_failed(parameter, url, refusal)
            async with session.get(url, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = str(response.url.join(URL(response.headers["Location"])))
                    continue
                return await self._read(response, url, parameter)
        raise _download_failed(parameter, url, f"more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: aiohttp.ClientResponse, url: str, parameter: str) -> Media:
        if response.status != 200:
            raise _download_failed(parameter, url, f"HTTP {response.status}")
        if (response.content_length or 0) > self.limits.max_bytes:
            raise _too_large(parameter, self.limits.max_bytes)
        # Chunks joined once at the end: growing one buffer copied a 45 MB file several times, in loop steps of
        # over 100 ms when the chunks were already there to be read.
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise _too_large(parameter, self.limits.max_bytes)
            chunks.append(chunk)
        return Media(b"".join(chunks), response.content_type)


def _download_failed(parameter: str, url: str, reason: str) -> RunwareError:
    return exceptions.DOWNLOAD_FAILED(f"Could not download {parameter} from {url}: {reason}.", parameter=parameter)


def _too_large(parameter: str, limit: int) -> RunwareError:
    return exceptions.MEDIA_TOO_LARGE(f"{parameter} is larger than the limit of {limit} bytes.", parameter=parameter)


def _unreadable(parameter: str, reason: str) -> RunwareError:
    return exceptions.UNREADABLE_MEDIA(f"{parameter} cannot be read: {reason}.", parameter=parameter)
