"""Server settings. Each is written once, here: its default, its help, its command-line flag and its
environment variable (`LIPSYNC_MOCK_` + the name in capitals) all come from the field; `cli.py` builds the
parser from them."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mock_server.timing import Distribution, parse_distribution

ENV_PREFIX = "LIPSYNC_MOCK_"


def _non_negative(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError("must be a finite number of at least 0")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError("must be a finite number of seconds above 0")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError("must be a number from 0 to 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


@dataclass(frozen=True)
class FrameSize:
    """A limit on frames, either way up: no side longer than `longer`, and the shorter side at most `shorter`."""

    longer: int
    shorter: int

    def __str__(self) -> str:
        return f"{self.longer}x{self.shorter}"


def _frame_size(text: str) -> FrameSize:
    width, separator, height = text.strip().lower().partition("x")
    if not (separator and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError("must be WIDTHxHEIGHT in pixels, e.g. 4096x2160")
    return FrameSize(max(int(width), int(height)), min(int(width), int(height)))


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
        raise ValueError("must be an http(s) URL with a host and no path, e.g. http://mock:8080")
    return text.rstrip("/")


def _endpoint_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError("must be an http(s) or ws(s) URL with a host, e.g. https://api.runware.ai/v1")
    return text


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return value


RECORD_MODES = ("all", "new", "none")


def _record_mode(text: str) -> str:
    if text not in RECORD_MODES:
        raise ValueError(f"must be one of {', '.join(RECORD_MODES)}")
    return text


def _log_format(text: str) -> str:
    if text not in ("text", "json"):
        raise ValueError("must be text or json")
    return text


# Where the evidence on the real service is split, the mock's choice is a setting: `--compat KEY=VALUE`.
# The first value of each is the default; docs/behaviour.md gives the evidence for each side.
COMPAT_CHOICES: dict[str, tuple[str, ...]] = {
    # getResponse for a taskUUID never submitted: 200 {"data": []} like a task with nothing ready, or 404 taskNotFound.
    "unknown-task-poll": ("empty", "not-found"),
    # A webhook body: {"data": [item]} as a poll shows it, or the bare item.
    "webhook-body": ("wrapped", "bare"),
    # A REST request refused before any task ran: "data": [] beside "errors" (seen), or "errors" alone.
    "refusal-data": ("empty", "absent"),
    # The HTTP status of a task refused for want of credit: 400 (seen in users' logs), or 402 (the docs).
    "insufficient-credits-status": ("400", "402"),
    # Its code: the video-task name seen in logs, or the generic one.
    "insufficient-credits-code": ("videoInferenceInsufficientCredits", "insufficientCredits"),
    # Error objects: without taskType (seen; the official SDK says errors often omit it) but for an authentication
    # error's, or with it on every error (the docs' field list).
    "error-task-type": ("omitted", "included"),
    # Processing items: without progress (the docs' examples; "only for tasks that support progress reporting"),
    # or with a percentage (the vendor's CLI types).
    "progress": ("omitted", "included"),
    # inputs.audio: the model page's string only, or also the list of {id, source} the platform's workflow nodes send,
    # with segments naming a source by ref (schemas/audio-sources.json).
    "audio-inputs": ("string", "list"),
}


@dataclass(frozen=True)
class Compat:
    """The compat choices in force, one attribute per key of COMPAT_CHOICES."""

    unknown_task_poll: str = "empty"
    webhook_body: str = "wrapped"
    refusal_data: str = "empty"
    insufficient_credits_status: str = "400"
    insufficient_credits_code: str = "videoInferenceInsufficientCredits"
    error_task_type: str = "omitted"
    progress: str = "omitted"
    audio_inputs: str = "string"

    @classmethod
    def from_pairs(cls, pairs: tuple[str, ...]) -> Compat:
        return cls(**{key.replace("-", "_"): value for key, value in map(_compat_pair, pairs)})


def _compat_pair(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if key not in COMPAT_CHOICES:
        raise ValueError(f"unknown compat key {key!r}; known: {', '.join(COMPAT_CHOICES)}")
    if value not in COMPAT_CHOICES[key]:
        raise ValueError(f"{key} takes one of {', '.join(COMPAT_CHOICES[key])}")
    return key, value


def _compat_text(text: str) -> str:
    _compat_pair(text)
    return text.strip()


def setting(
    default: Any = MISSING,
    *,
    help: str,
    parse: Callable[[str], Any] = str,
    metavar: str | None = None,
    flag: str | None = None,
    default_factory: Callable[[], Any] | None = None,
    shown_default: str | None = None,
) -> Any:
    """A settings field with what the command line needs: `parse` turns the flag's or environment's text
    into the value (ValueError when it cannot); `flag` replaces the one made from the name."""
    metadata = {"help": help, "parse": parse, "metavar": metavar, "flag": flag, "shown_default": shown_default}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    host: str = setting(
        "127.0.0.1", help="address to listen on; 0.0.0.0 exposes the mock to the network", metavar="ADDRESS"
    )
    port: int = setting(8080, help="port to listen on (0: any free port)", parse=_port, metavar="PORT")
    api_keys: tuple[str, ...] = setting(
        (),
        help="an accepted API key; repeatable (the variable takes them comma-separated). "
        "With none, any non-empty key is accepted",
        flag="--api-key",
        metavar="KEY",
    )
    processing_rate: float = setting(
        0.5,
        help="seconds of simulated processing per second of output video; 0 = done at the first poll",
        parse=_non_negative,
        metavar="SECONDS",
    )
    processing_time: Distribution | None = setting(
        None,
        help="each result's processing time drawn, reproducibly from --seed, from SECONDS (fixed), "
        "lognormal:median=S,p95=S, or from:DIR (a lognormal fitted to a recording's submissions and the polls "
        "that saw them done); results one by one, each that long after the one before. Replaces --processing-rate "
        "in the rate lifecycle. Default: the processing rate",
        parse=parse_distribution,
        metavar="DISTRIBUTION",
    )
    poll_wait: float = setting(
        10.0,
        help="at --processing-rate 0, the longest a poll waits for its render before answering processing",
        parse=_non_negative,
        metavar="SECONDS",
    )
    max_body_bytes: int = setting(
        64 * 1024 * 1024, help="largest request body, and WebSocket frame", parse=_positive, metavar="BYTES"
    )
    max_tasks_per_request: int = setting(100, help="most tasks in one request", parse=_positive, metavar="COUNT")
    max_media_bytes: int = setting(
        100 * 1024 * 1024, help="largest media input, fetched or inline", parse=_positive, metavar="BYTES"
    )
    fetch_timeout: float = setting(
        30.0, help="seconds a media download may take", parse=_non_negative, metavar="SECONDS"
    )
    max_media_seconds: float = setting(
        300.0, help="longest media input (the provider caps audio at 300 s)", parse=_non_negative, metavar="SECONDS"
    )
    result_max_side: int | None = setting(
        None,
        help="scale results down so their longer side is at most this many pixels (small previews); "
        "default: the input's frame size, as the real service returns",
        parse=_positive,
        metavar="PIXELS",
    )
    max_frame_size: FrameSize = setting(
        FrameSize(4096, 2160),
        help="largest frames of inputs.video, either way up (the provider rejects inputs above 4K, 4096x2160); "
        "read from the container before a frame is decoded",
        parse=_frame_size,
        metavar="WIDTHxHEIGHT",
    )
    max_result_bytes: int = setting(
        256 * 1024 * 1024,
        help="largest result file: a render that grows past it stops, and the task fails with resultTooLarge",
        parse=_positive,
        metavar="BYTES",
    )
    max_stored_bytes: int = setting(
        1024 * 1024 * 1024,
        help="result files and uploads kept in all, in memory or in --data-dir; past it the oldest are dropped",
        parse=_positive,
        metavar="BYTES",
    )
    balance: float | None = setting(
        None,
        help="USD each new account (an API key, within its namespace) starts with; its tasks are charged their "
        "cost, and a video task is refused below $5. Default: unlimited",
        parse=_non_negative,
        metavar="USD",
    )
    request_timeout: float = setting(
        30.0,
        help="seconds a client has to send a request's headers (from connecting, or from the previous answer: an "
        "idle kept-alive connection is closed as late), then as long again for its body; past either the "
        "connection is closed",
        parse=_positive_seconds,
        metavar="SECONDS",
    )
    max_connections: int = setting(
        1000,
        help="connections held at once (keep it under the open-file limit, ulimit -n); past it a new one is "
        "answered 503 tooManyConnections and closed",
        parse=_positive,
        metavar="COUNT",
    )
    ws_idle_timeout: float = setting(
        120.0, help="seconds a WebSocket may stay silent before it is closed", parse=_non_negative, metavar="SECONDS"
    )
    chaos: float = setting(
        0.0,
        help="share of requests (0..1) answered with a random fault: latency, 429, 5xx or a dropped connection",
        parse=_share,
        metavar="SHARE",
    )
    seed: int | None = setting(None, help="seed of every random choice: UUIDs, seeds, chaos", parse=int, metavar="N")
    vary_responses: int | None = setting(
        None,
        help="vary every answer within the contract, reproducibly from this seed: extra fields, optional fields "
        "left out, progress in leaps, results in another order, one more processing poll (fuzzes a client "
        "through its real transport)",
        parse=int,
        metavar="SEED",
    )
    delivery_attempts: int = setting(4, help="webhook and upload tries in all", parse=_positive, metavar="COUNT")
    delivery_first_delay: float = setting(
        0.5,
        help="seconds before a delivery's second try; each later wait doubles",
        parse=_non_negative,
        metavar="SECONDS",
    )
    control: bool = setting(
        True, help="turn the control API (/__mock/), its journal and the X-Mock-Fault header off", flag="--no-control"
    )
    control_token: str | None = setting(
        None, help="require this token (X-Mock-Control-Token) on the control API", metavar="TOKEN"
    )
    public_url: str | None = setting(
        None,
        help="the URL clients reach the mock at (e.g. http://mock:8080 in a container network): result and "
        "media URLs are built from it, and its host is accepted in Host headers. "
        "Default: the address the client connected to",
        parse=_http_url,
        metavar="URL",
    )
    proxy: str | None = setting(
        None,
        help="forward every request to this task endpoint (e.g. https://api.runware.ai/v1) with the client's own "
        "key and answer with its answers, instead of mocking; its host may be reached. With --record DIR",
        parse=_endpoint_url,
        metavar="URL",
    )
    proxy_websocket: str | None = setting(
        None,
        help="with --proxy: where WebSocket clients are relayed (e.g. wss://ws-api.runware.ai/v1); "
        "none: the --proxy URL as ws(s)://",
        parse=_endpoint_url,
        metavar="URL",
    )
    record: Path | None = setting(
        None,
        help="with --proxy: record every exchange here (one JSON file per task, the key scrubbed) and download "
        "result files into it",
        parse=Path,
        metavar="DIR",
    )
    replay: Path | None = setting(
        None,
        help="answer the requests recorded in this folder with their recorded answers (fresh taskUUIDs mapped, "
        "result files served from it), over REST and WebSocket; anything else as the mock does, unless "
        "--record-mode none",
        parse=Path,
        metavar="DIR",
    )
    record_mode: str | None = setting(
        None,
        help="as VCR.py's: all (with --proxy and --record DIR: forward and record every request), new (the same, "
        "but a request DIR already holds is answered from it, and only the others forwarded and recorded), none "
        "(with --replay DIR: replay only; a request the recording does not hold is refused with notRecorded, "
        "naming what did not match, never passed on)",
        shown_default="all with --record; with --replay, what is not recorded goes to the mock",
        parse=_record_mode,
        metavar="MODE",
    )
    replay_speed: float = setting(
        0.0,
        help="pace of a replay: 1 the recorded pace (a task answers processing as long as the recorded one did), "
        "2 twice as fast, 0.5 half as fast; 0 answers at once, one recorded answer per poll",
        parse=_non_negative,
        metavar="SPEED",
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        help="a host the mock may fetch media from or deliver to, besides loopback; repeatable; '*' for any",
        flag="--allow-host",
        metavar="HOST",
    )
    data_dir: Path | None = setting(
        None,
        help="keep tasks, results and uploads in this folder (SQLite and files), so a restart loses nothing",
        parse=Path,
        metavar="DIR",
    )
    retention: float | None = setting(
        None, help="seconds after which tasks, files and uploads are forgotten", parse=_non_negative, metavar="SECONDS"
    )
    compat: tuple[str, ...] = setting(
        (),
        help="where the real service's behaviour is uncertain, choose: "
        + "; ".join(f"{key}={'|'.join(values)}" for key, values in COMPAT_CHOICES.items())
        + " (first is the default); repeatable",
        parse=_compat_text,
        metavar="KEY=VALUE",
    )
    render_workers: int = setting(
        help="renders at once; the rest wait in a queue",
        shown_default="the CPU count",
        parse=_positive,
        metavar="COUNT",
        default_factory=lambda: os.cpu_count() or 2,
    )
    log_format: str = setting(
        "text", help="log lines as text, or as one JSON object each", parse=_log_format, metavar="text|json"
    )
    quiet: bool = setting(False, help="no access log (one line per request); warnings and errors still show")


def env_var(item: Field[Any]) -> str:
    return ENV_PREFIX + item.name.upper()


def flag_of(item: Field[Any]) -> str:
    return item.metadata["flag"] or "--" + item.name.replace("_", "-")


def default_text(item: Field[Any]) -> str:
    """The default as the help and the docs show it."""
    if item.metadata["shown_default"]:
        return item.metadata["shown_default"]
    return "none" if item.default in (None, ()) else str(item.default)


def settings_reference() -> str:
    """Every setting as a Markdown table (docs/settings.md holds it; a test keeps the two the same)."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for item in settings_fields():
        value = f" {item.metadata['metavar']}" if item.metadata["metavar"] else ""
        meaning = item.metadata["help"].replace("|", "\\|")
        rows.append(f"| `{flag_of(item)}{value}` | `{env_var(item)}` | {default_text(item)} | {meaning} |")
    return "\n".join(rows)


def settings_fields() -> tuple[Field[Any], ...]:
    return fields(Settings)


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given in the environment, by field name; ValueError naming the variable that is wrong."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for item in settings_fields():
        text = environ.get(env_var(item))
        if text is None:
            continue
        try:
            values[item.name] = parse_value(item, text)
        except ValueError as error:
            raise ValueError(f"{env_var(item)}={text!r}: {error}") from None
    return values


def parse_value(item: Field[Any], text: str) -> Any:
    """A field's value from text: a list field takes comma-separated items, a switch yes/no words."""
    if isinstance(item.default, bool):
        words = {
            "1": True,
            "true": True,
            "yes": True,
            "on": True,
            "0": False,
            "false": False,
            "no": False,
            "off": False,
        }
        if text.strip().lower() not in words:
            raise ValueError("must be one of 1/0, true/false, yes/no, on/off")
        return words[text.strip().lower()]
    if isinstance(item.default, tuple):
        return tuple(item.metadata["parse"](part.strip()) for part in text.split(",") if part.strip())
    return item.metadata["parse"](text)
