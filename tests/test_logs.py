"""Log lines: each written as it is logged, a broken stream is not fatal, a message repeated past the limit is
summed up, and access lines are never held back."""

from __future__ import annotations

import asyncio
import io
import logging
import time

from mock_server.logs import TEXT_FORMAT, RepeatLimitedHandler


def handler_to(stream: io.StringIO, repeats_per_second: int = 10) -> RepeatLimitedHandler:
    return RepeatLimitedHandler(stream, logging.Formatter(TEXT_FORMAT), repeats_per_second)


def logger_to(stream: io.StringIO, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler_to(stream)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


async def test_a_line_is_written_as_it_is_logged_within_a_loop_too():
    stream = io.StringIO()
    logger = logger_to(stream, "test_logs.at_once")
    logger.info("one")
    assert stream.getvalue().endswith(" INFO test_logs.at_once: one\n")


def test_a_closed_stream_drops_the_lines_without_raising_or_reporting(capsys):
    stream = io.StringIO()
    logger = logger_to(stream, "test_logs.closed")
    stream.close()
    logger.info("lost")  # a failure here would be raised, or reported on stderr as a logging error
    assert capsys.readouterr().err == ""


def record_at(
    created: float, message: str, *args: object, level: int = logging.ERROR, **extra: object
) -> logging.LogRecord:
    record = logging.LogRecord("test_logs.flood", level, __file__, 1, message, args or None, None)
    record.created = created
    record.__dict__.update(extra)
    return record


def test_a_message_repeated_past_the_limit_is_summed_up_once_its_second_is_over():
    stream = io.StringIO()
    handler = handler_to(stream, repeats_per_second=3)
    for n in range(10):  # one failure for many paths: the same message with other arguments
        handler.handle(record_at(1000.5, "unhandled error answering %s", f"/path/{n}"))
    handler.handle(record_at(1000.6, "socket.accept() out of system resource\nsocket: fd=%d", 13))
    handler.handle(record_at(1000.7, "other"))
    assert len(stream.getvalue().splitlines()) == 6  # nothing of the 7 left out yet: their second is not over
    handler.handle(record_at(1001.1, "other"))
    lines = [line.split(" ERROR test_logs.flood: ")[-1] for line in stream.getvalue().splitlines()]
    assert lines == [
        "unhandled error answering /path/0",
        "unhandled error answering /path/1",
        "unhandled error answering /path/2",
        "socket.accept() out of system resource",
        "socket: fd=13",
        "other",
        "unhandled error answering /path/2 … repeated 7 more times",
        "other",
    ]


def test_a_multi_line_message_is_one_message_whatever_its_later_lines_say():
    stream = io.StringIO()
    handler = handler_to(stream, repeats_per_second=2)
    for when in range(5):  # asyncio's "Exception in callback ...\nhandle: <TimerHandle when=...>"
        handler.handle(record_at(1000.1, f"Exception in callback serve()\nhandle: <TimerHandle when={when}>"))
    handler.close()  # a summary still due is written when the handler closes
    assert (
        stream.getvalue()
        .splitlines()[-1]
        .endswith(" ERROR test_logs.flood: Exception in callback serve() … repeated 3 more times")
    )


async def test_within_a_loop_the_summary_comes_when_the_second_is_over_even_with_nothing_more_logged():
    written = asyncio.Event()

    class Watched(io.StringIO):
        def write(self, text: str) -> int:
            if "repeated" in text:
                written.set()
            return super().write(text)

    stream = Watched()
    handler = handler_to(stream, repeats_per_second=1)
    now = time.time()
    for _ in range(3):
        handler.handle(record_at(now, "flood"))
    await asyncio.wait_for(written.wait(), 3)  # at the next second boundary: within a second
    assert stream.getvalue().splitlines()[-1].endswith("flood … repeated 2 more times")


def test_access_lines_are_never_held_back():
    stream = io.StringIO()
    handler = handler_to(stream, repeats_per_second=3)
    for _ in range(20):  # the same line, request after request
        handler.handle(record_at(1000.5, "GET /health 200 0.1 ms", level=logging.INFO, access={"status": 200}))
    assert stream.getvalue().count("GET /health 200 0.1 ms") == 20
