"""`lipsync-mock` / `python -m mock_server`: start the mock.

Every option is also read from the environment: LIPSYNC_MOCK_<OPTION> (e.g. LIPSYNC_MOCK_PORT=9000); a flag
wins over the environment, and list options (keys, hosts) take both.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Callable
from dataclasses import Field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp.http_exceptions import BadHttpMessage

from mock_server.app import create_app, resume_work
from mock_server.config import Settings, default_text, env_var, flag_of, from_environment, settings_fields
from mock_server.http import connections
from mock_server.logs import configure_logging
from mock_server.store import StoreUnavailable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lipsync-mock",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    defaults = Settings()
    for item in settings_fields():
        flag = flag_of(item)
        default = getattr(defaults, item.name)
        help_text = f"{item.metadata['help']} (default: {default_text(item)}; env {env_var(item)})"
        if isinstance(default, bool):
            action = "store_false" if flag.startswith("--no-") else "store_true"
            parser.add_argument(flag, dest=item.name, action=action, default=None, help=help_text)
        elif isinstance(default, tuple):
            parser.add_argument(
                flag,
                dest=item.name,
                action="append",
                type=_checked(item),
                metavar=item.metadata["metavar"],
                help=help_text,
                default=None,
            )
        else:
            parser.add_argument(
                flag,
                dest=item.name,
                type=_checked(item),
                metavar=item.metadata["metavar"],
                help=help_text,
                default=None,
            )
    return parser


def _checked(item: Field[Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return item.metadata["parse"](text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None

    return parse


def parse_settings(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Settings from the command line over the environment over the defaults; exit 2 with one line when wrong."""
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    try:
        values = from_environment(environ)
    except ValueError as error:
        parser.error(str(error))
    for name, given in args.items():
        if given is None:
            continue
        if isinstance(given, list):
            values[name] = (*given, *values.get(name, ()))
        else:
            values[name] = given
    return Settings(**values)


def _version() -> str:
    try:
        return version("lipsync-mock")
    except PackageNotFoundError:
        return "unknown"


class _MalformedRequestFilter(logging.Filter):
    """aiohttp answers a request it cannot parse with 400 by itself, and logs a traceback for it: that is a
    client's bad input, not the server's fault, so it is logged as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], BadHttpMessage):
            record.msg, record.args, record.exc_info = f"refused a malformed request: {record.exc_info[1]}", (), None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _startup_printer(settings: Settings) -> Callable[..., None]:
    """Where the server listens is printed; in JSON mode that is a log line too, so stdout and stderr stay parseable."""
    if settings.log_format == "text":
        return print
    started = logging.getLogger("lipsync_mock")

    def log_lines(text: str, **_: Any) -> None:
        for line in text.splitlines():
            if line.strip("= "):
                started.info(line.strip("= "))

    return log_lines


def main(argv: list[str] | None = None) -> None:
    settings = parse_settings(argv)
    configure_logging(settings.log_format)
    logging.getLogger("aiohttp.server").addFilter(_MalformedRequestFilter())
    try:
        app = create_app(settings)
    except (StoreUnavailable, ValueError) as error:  # a folder it cannot use, settings that do not go together
        print(f"lipsync-mock: {error}", file=sys.stderr)
        sys.exit(2)
    # What start-up made (modules, schemas, validators) lives as long as the process: frozen out of the
    # garbage collector's reach, it no longer lengthens every full collection. Measured: submit p99 at 32
    # connections from about 24 ms to about 9 ms (benchmarks/load.py, wrk).
    gc.freeze()
    announce = _startup_printer(settings)

    def listening(text: str) -> None:
        announce(text)
        resume_work(app)

    try:
        connections.run(app, settings, announce=listening)
    except OSError as error:
        print(f"lipsync-mock: cannot listen on {settings.host}:{settings.port}: {error.strerror}", file=sys.stderr)
        sys.exit(2)
