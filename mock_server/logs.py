"""How the server's log lines look: `--log-format text` (for people) or `json` (one object a line, for log
collectors). An access line's fields (`mock_server.http.access`) become the JSON object's own keys.

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
from datetime import UTC, datetime
from typing import Any, TextIO

REPEATS_PER_SECOND = 10
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "access", {}))
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        time_text = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        message = record.getMessage()
        return json.dumps(
            {"time": time_text, "level": record.levelname, "logger": record.name, "message": message, **fields}
        )


class RepeatLimitedHandler(logging.StreamHandler[TextIO]):
    """Writes each record to the stream as it comes, but for a message repeated past `repeats_per_second`
    (`RepeatLimit`); an access line (a record with `access` fields) is never held back. A stream that is closed
    or broken shows nothing more: raising would log the failure, which would fail the same way."""

    def __init__(
        self, stream: TextIO, formatter: logging.Formatter, repeats_per_second: int = REPEATS_PER_SECOND
    ) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self.repeats = RepeatLimit(repeats_per_second)
        self.summary_due: asyncio.TimerHandle | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not hasattr(record, "access"):
                self._summarise(self.repeats.new_second(int(record.created)))
                if not self.repeats.admit(record):
                    if self.summary_due is None:
                        self._summarise_after_this_second()
                    return
            self._write(self.format(record))
        except Exception:  # a record that cannot be formatted: logging's own report of it
            self.handleError(record)

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + self.terminator)
            self.stream.flush()
        except (OSError, ValueError):
            pass

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
            self._write(self.format(logging.makeLogRecord({"name": name, "levelname": level, "msg": text})))

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._summarise(self.repeats.end_second())
            if self.summary_due is not None:
                self.summary_due.cancel()
        super().close()


def configure_logging(log_format: str) -> None:
    """Log to stderr in `log_format`."""
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    logging.basicConfig(level=logging.INFO, handlers=[RepeatLimitedHandler(sys.stderr, formatter)], force=True)
