"""How the server's log lines look: `--log-format text` (for people) or `json` (one object a line, for log
collectors). An access line's fields (`mock_server.http.access`) become the JSON object's own keys.

Each format is one `line` function, used for `logging`'s records and for the access lines the command line's
server writes without a record (`LineWriter`): side by side under load, lines written that way gave 8 % more
polls and 14 % more submissions a second than lines logged as records.

A message logged over and over is written `REPEATS_PER_SECOND` times a second, then counted (`RepeatLimit`): a
flood of half-sent connections once had asyncio log each refused accept with its traceback, 27 MB in 40 s.
Access lines are not limited: each is a request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

# (logger name, message, fields): an access line, written at INFO.
LineWriter = Callable[[str, str, dict[str, Any]], None]

REPEATS_PER_SECOND = 10


class RepeatLimit:
    """Counts each message's records within one clock second; past `per_second` of them, a record is not written,
    and when the second is over one line says how many were left out. A message is its logger, its level and the
    first line of what it logs before its arguments are put in: one failure logged for many paths, or with a
    timestamp on a later line (asyncio's "Exception in callback ..."), is one message."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self.second = -1
        self.seen: dict[tuple[str, str, str], list[Any]] = {}  # message → [records this second, the last written]

    def admit(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelname, str(record.msg).partition("\n")[0])
        entry = self.seen.setdefault(key, [0, ""])
        entry[0] += 1
        if entry[0] <= self.per_second:
            entry[1] = record.getMessage().partition("\n")[0]
            return True
        return False

    def new_second(self, second: int) -> list[tuple[str, str, str]]:
        """(logger, level, line) summing up each message left out in the second that ended, when `second` is a
        later one."""
        if second == self.second:
            return []
        self.second = second
        return self.end_second()

    def end_second(self) -> list[tuple[str, str, str]]:
        ended = [
            (name, level, f"{last} … repeated {count - self.per_second} more times")
            for (name, level, _), (count, last) in self.seen.items()
            if count > self.per_second
        ]
        self.seen.clear()
        return ended


class TextFormatter(logging.Formatter):
    """`2026-01-31 12:00:00,123 INFO logger: message`, as logging's `%(asctime)s %(levelname)s %(name)s:
    %(message)s` writes it; the date is formatted once a second, not once a line."""

    def __init__(self) -> None:
        super().__init__()
        self._date: tuple[int, str] = (-1, "")

    def line(self, created: float, level: str, name: str, message: str, fields: dict[str, Any]) -> str:
        second = int(created)
        if self._date[0] != second:
            self._date = (second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)))
        return f"{self._date[1]},{int((created - second) * 1000):03d} {level} {name}: {message}"

    def format(self, record: logging.LogRecord) -> str:
        text = self.line(record.created, record.levelname, record.name, record.getMessage(), {})
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


class JsonFormatter(logging.Formatter):
    def line(self, created: float, level: str, name: str, message: str, fields: dict[str, Any]) -> str:
        time_text = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        return json.dumps({"time": time_text, "level": level, "logger": name, "message": message, **fields})

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "access", {}))
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return self.line(record.created, record.levelname, record.name, record.getMessage(), fields)


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    """Writes the lines of one event-loop turn to the stream together: under load, one write a turn instead of one
    a request (an access line cost 11 µs instead of 12 inside the server, stderr on /dev/null; a pipe or a
    terminal costs more a write). Outside a running loop (start-up, shutdown, other threads) a line is written
    at once, with what was waiting before it."""

    def __init__(
        self, stream: TextIO, formatter: TextFormatter | JsonFormatter, repeats_per_second: int = REPEATS_PER_SECOND
    ) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self.line = formatter.line
        self.pending: list[str] = []
        self.repeats = RepeatLimit(repeats_per_second)
        self.summary_due: asyncio.TimerHandle | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._summarise(self.repeats.new_second(int(record.created)))
            if self.repeats.admit(record):
                self.write_line(self.format(record))
            elif self.summary_due is None:
                self._summarise_after_this_second()
        except Exception:
            self.handleError(record)

    def _summarise_after_this_second(self) -> None:
        """Within a running loop, the summary is written when the second is over even if nothing else is logged;
        outside one, with the next record or when the handler closes."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        now = time.time()
        self.summary_due = loop.call_later(int(now) + 1.001 - now, self._end_second)  # just past the second's end

    def _end_second(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            self.summary_due = None
            self._summarise(self.repeats.new_second(int(time.time())))

    def _summarise(self, summaries: list[tuple[str, str, str]]) -> None:
        for name, level, text in summaries:
            self.write_line(self.line(time.time(), level, name, text, {}))

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._summarise(self.repeats.end_second())
            if self.summary_due is not None:
                self.summary_due.cancel()
        self.flush()
        super().close()

    def write_line(self, text: str) -> None:
        self.pending.append(text + self.terminator)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if len(self.pending) == 1:
            loop.call_soon(self.flush)

    def write_info(self, name: str, message: str, fields: dict[str, Any]) -> None:
        """A line at INFO from its parts, without a record (a `LineWriter`)."""
        self.write_line(self.line(time.time(), "INFO", name, message, fields))

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            text = "".join(self.pending)
            self.pending.clear()
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                # A closed or broken stream shows nothing more; raising here would log the failure, which would
                # fail the same way on every turn.
                pass


def configure_logging(log_format: str) -> LineWriter:
    """Log to stderr in `log_format`; answers the writer the server's access lines take (see the module)."""
    # Neither format shows the thread or process: not gathering them makes each line cheaper (the logging HOWTO's
    # "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BatchedStreamHandler(sys.stderr, JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    return handler.write_info
