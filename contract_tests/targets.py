"""What the suite runs against: the target API, and media the target can fetch."""

from __future__ import annotations

import functools
import http.server
import ipaddress
import json
import socket
import sys
import threading
import urllib.request
import wave
from dataclasses import dataclass
from urllib.parse import urlsplit

from contract_tests.payloads import MEDIA_DIR

VIDEO_FILE, AUDIO_FILE = "speaker.mp4", "voice.wav"
# Media for requests that must never run: ".invalid" names never resolve, so a target that accepted such a
# task by mistake would fail to download it rather than render (and bill) it.
UNREACHABLE_MEDIA = ("https://media.invalid/speaker.mp4", "https://media.invalid/voice.wav")


@dataclass(frozen=True)
class Target:
    url: str  # the task endpoint
    api_key: str
    is_local: bool  # on this machine: nothing it does costs money
    is_mock: bool  # this project's mock, whose exact error codes are asserted too


def describe_target(url: str, api_key: str) -> Target:
    host = urlsplit(url).hostname or ""
    try:
        is_local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_local = False
    return Target(url, api_key, is_local, is_local and _answers_as_mock(url))


def _answers_as_mock(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/health", timeout=5) as response:
            return json.load(response).get("service") == "lipsync-mock"
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class MediaSet:
    """The shortest media the paid cases use, at URLs the target can download."""

    video: str
    audio: str
    audio_seconds: float

    def voice(self, seconds: float) -> tuple[str, float]:
        """The URL of the voice lasting `seconds` (2.5 or 0.5: fixtures/make_media.py), and its length."""
        return f"{self.video.rsplit('/', 1)[0]}/voice-{seconds:g}s.wav", seconds

    @classmethod
    def under(cls, base_url: str) -> MediaSet:
        base = base_url.rstrip("/")
        with wave.open(str(MEDIA_DIR / AUDIO_FILE)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
        return cls(f"{base}/{VIDEO_FILE}", f"{base}/{AUDIO_FILE}", seconds)


class MediaServer:
    """The fixture media (`data/media`) over HTTP on a loopback port, for targets on this machine."""

    def __init__(self) -> None:
        handler = functools.partial(_QuietFiles, directory=str(MEDIA_DIR))
        self._server = QuietHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="media", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MediaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that prints no traceback for a client that hung up mid-answer (a target cancelling
    a fetch, or shutting down): that is not the server's error. Anything else is still printed."""

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
