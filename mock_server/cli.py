"""`lipsync-mock` / `python -m mock_server`: start the mock."""

from __future__ import annotations

import argparse
import gc
import logging
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from mock_server.app import create_app
from mock_server.config import API_KEYS_ENV, Settings, api_keys_from_env


def parse_settings(argv: list[str] | None = None) -> Settings:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="lipsync-mock", description=__doc__)
    parser.add_argument("--host", default=defaults.host, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="port to bind (default %(default)s)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help=f"an accepted API key; repeatable; also read from {API_KEYS_ENV} (comma-separated). "
        "With none, any non-empty key is accepted.",
    )
    parser.add_argument(
        "--processing-rate",
        type=_non_negative,
        default=defaults.processing_rate,
        help="seconds of simulated processing per second of output video; 0 = done at the first poll "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--max-body-bytes", type=int, default=defaults.max_body_bytes, help="largest request body accepted"
    )
    parser.add_argument(
        "--max-media-bytes", type=int, default=defaults.max_media_bytes, help="largest media input, fetched or inline"
    )
    parser.add_argument(
        "--fetch-timeout", type=_non_negative, default=defaults.fetch_timeout, help="seconds a media download may take"
    )
    parser.add_argument(
        "--max-media-seconds", type=_non_negative, default=defaults.max_media_seconds, help="longest media input"
    )
    parser.add_argument(
        "--ws-idle-timeout",
        type=_non_negative,
        default=defaults.ws_idle_timeout,
        help="seconds a WebSocket may stay silent before it is closed",
    )
    parser.add_argument(
        "--chaos",
        type=_non_negative,
        default=defaults.chaos,
        help="share of requests (0..1) answered with a random fault: latency, 429, 5xx or a dropped connection",
    )
    parser.add_argument("--seed", type=int, help="seed of every random choice: UUIDs, seeds, chaos")
    parser.add_argument(
        "--delivery-attempts", type=int, default=defaults.delivery_attempts, help="webhook and upload tries in all"
    )
    parser.add_argument(
        "--max-tasks-per-request", type=int, default=defaults.max_tasks_per_request, help="tasks in one request"
    )
    parser.add_argument("--no-control", action="store_true", help="turn the control API (/__mock/) off")
    parser.add_argument("--control-token", help="require this token (X-Mock-Control-Token) on the control API")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="a host the mock may fetch media from or deliver to, besides loopback; repeatable; '*' for any",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep tasks, results and uploads in this folder (SQLite and files), so a restart loses nothing",
    )
    parser.add_argument(
        "--retention", type=_non_negative, help="seconds after which tasks, files and uploads are forgotten"
    )
    parser.add_argument(
        "--render-workers", type=int, default=defaults.render_workers, help="renders at once; the rest queue"
    )
    args = parser.parse_args(argv)
    return Settings(
        host=args.host,
        port=args.port,
        api_keys=(*args.api_key, *api_keys_from_env()),
        processing_rate=args.processing_rate,
        max_body_bytes=args.max_body_bytes,
        max_media_bytes=args.max_media_bytes,
        fetch_timeout=args.fetch_timeout,
        max_media_seconds=args.max_media_seconds,
        render_workers=args.render_workers,
        ws_idle_timeout=args.ws_idle_timeout,
        chaos=args.chaos,
        seed=args.seed,
        delivery_attempts=args.delivery_attempts,
        max_tasks_per_request=args.max_tasks_per_request,
        control=not args.no_control,
        control_token=args.control_token,
        allowed_hosts=tuple(args.allow_host),
        retention=args.retention,
        data_dir=args.data_dir,
    )


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number of at least 0")
    return value


class _MalformedRequestFilter(logging.Filter):
    """aiohttp answers a request it cannot parse with 400 by itself, and logs a traceback for it: that is a
    client's bad input, not the server's fault, so it is logged as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], BadHttpMessage):
            record.msg, record.args, record.exc_info = f"refused a malformed request: {record.exc_info[1]}", (), None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def main(argv: list[str] | None = None) -> None:
    settings = parse_settings(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.server").addFilter(_MalformedRequestFilter())
    app = create_app(settings)
    # What start-up made (modules, schemas, validators) lives as long as the process: frozen out of the
    # garbage collector's reach, it no longer lengthens every full collection. Measured: submit p99 at 32
    # connections from about 24 ms to about 9 ms (benchmarks/load.py, wrk).
    gc.freeze()
    web.run_app(app, host=settings.host, port=settings.port, access_log=None)
