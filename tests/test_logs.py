"""Log lines: the formats (a record and a line written from its parts read the same), written once per event-loop
turn, at once outside a loop, and a broken stream is not fatal."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import time

from mock_server.logs import BatchedStreamHandler, JsonFormatter, TextFormatter


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def logger_to(stream: io.StringIO, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [BatchedStreamHandler(stream, TextFormatter())]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_outside_a_loop_each_line_is_written_at_once():
    stream = CountingStream()
    logger = logger_to(stream, "test_logs.outside")
    logger.info("one")
    assert stream.getvalue().endswith(" INFO test_logs.outside: one\n") and stream.writes == 1


async def test_the_lines_of_one_loop_turn_are_written_together_on_the_next():
    stream = CountingStream()
    logger = logger_to(stream, "test_logs.turn")
    for number in range(5):
        logger.info("line %d", number)
    assert stream.writes == 0
    await asyncio.sleep(0)
    lines = stream.getvalue().splitlines()
    assert [line.partition(": ")[2] for line in lines] == [f"line {n}" for n in range(5)] and stream.writes == 1


async def test_a_closed_stream_drops_the_lines_without_raising():
    failures: list[dict] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: failures.append(context))
    stream = CountingStream()
    logger = logger_to(stream, "test_logs.closed")
    stream.close()
    logger.info("lost")
    await asyncio.sleep(0)
    logger.handlers[0].flush()  # as shutdown does
    assert failures == []  # a failing flush would be reported here, turn after turn


def a_record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("lipsync_mock.access", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def test_the_text_format_is_loggings_own():
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    record = a_record("GET /health 200 0.4 ms")
    assert TextFormatter().format(record) == plain.format(record)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = a_record("failed", exc_info=sys.exc_info())
    assert TextFormatter().format(failed) == plain.format(failed)


def test_a_line_from_its_parts_reads_as_its_record_does():
    fields = {"method": "GET", "path": "/health", "taskTypes": {}, "status": 200, "ms": 0.4}
    record = a_record("GET /health 200 0.4 ms", access=fields)
    text, as_json = TextFormatter(), JsonFormatter()
    assert text.line(record.created, "INFO", record.name, record.getMessage(), {}) == text.format(record)
    assert as_json.line(record.created, "INFO", record.name, record.getMessage(), fields) == as_json.format(record)
    assert json.loads(as_json.format(record))["status"] == 200


def record_at(created: float, message: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    record = logging.LogRecord("test_logs.flood", level, __file__, 1, message, args or None, None)
    record.created = created
    return record


def test_a_message_repeated_past_the_limit_is_summed_up_once_its_second_is_over():
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, TextFormatter(), repeats_per_second=3)
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
    handler = BatchedStreamHandler(stream, TextFormatter(), repeats_per_second=2)
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
    handler = BatchedStreamHandler(stream, TextFormatter(), repeats_per_second=1)
    now = time.time()
    for _ in range(3):
        handler.handle(record_at(now, "flood"))
    await asyncio.wait_for(written.wait(), 3)  # at the next second boundary: within a second
    assert stream.getvalue().splitlines()[-1].endswith("flood … repeated 2 more times")
