"""Server settings, from the command line or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

API_KEYS_ENV = "LIPSYNC_MOCK_API_KEYS"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # With no keys configured, any non-empty key is accepted.
    api_keys: tuple[str, ...] = field(default_factory=tuple)
    # Seconds of simulated processing per second of output video; 0 finishes tasks at once.
    processing_rate: float = 0.5
    max_body_bytes: int = 64 * 1024 * 1024  # also the largest WebSocket frame
    max_tasks_per_request: int = 100
    # Media inputs: the largest file fetched or decoded, how long a download may take, the longest input.
    max_media_bytes: int = 100 * 1024 * 1024
    fetch_timeout: float = 30.0
    max_media_seconds: float = 300.0
    # A WebSocket with no message for this long is closed.
    ws_idle_timeout: float = 120.0
    # Faults: the share of requests answered with a random fault, and the seed of every random choice.
    chaos: float = 0.0
    seed: int | None = None
    # Webhook and upload deliveries: tries in all, and the wait before the second (doubling after).
    delivery_attempts: int = 4
    delivery_first_delay: float = 0.5
    # The control API under /__mock/: off, or guarded by a token sent as X-Mock-Control-Token.
    control: bool = True
    control_token: str | None = None
    # Hosts the mock may fetch media from and deliver to, besides loopback addresses; "*" allows any.
    allowed_hosts: tuple[str, ...] = ()
    # Where a persistent store keeps its database and files; None keeps everything in memory.
    data_dir: Path | None = None
    # Seconds after which tasks, their files and uploads are forgotten; None keeps them (ttl still applies).
    retention: float | None = None
    # Renders running at once; more wait in a queue.
    render_workers: int = field(default_factory=lambda: os.cpu_count() or 2)


def api_keys_from_env(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Comma-separated keys from `LIPSYNC_MOCK_API_KEYS`."""
    value = (environ if environ is not None else os.environ).get(API_KEYS_ENV, "")
    return tuple(key.strip() for key in value.split(",") if key.strip())
