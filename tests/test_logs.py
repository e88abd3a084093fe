"""Log lines are written once per event-loop turn, at once outside a loop, and a broken stream is not fatal."""

from __future__ import annotations

import asyncio
import io
import logging

from mock_server.logs import BatchedStreamHandler


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def logger_to(stream: io.StringIO, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [BatchedStreamHandler(stream)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_outside_a_loop_each_line_is_written_at_once():
    stream = CountingStream()
    logger = logger_to(stream, "test_logs.outside")
    logger.info("one")
    assert (stream.getvalue(), stream.writes) == ("one\n", 1)


async def test_the_lines_of_one_loop_turn_are_written_together_on_the_next():
    stream = CountingStream()
    logger = logger_to(stream, "test_logs.turn")
    for number in range(5):
        logger.info("line %d", number)
    assert stream.writes == 0
    await asyncio.sleep(0)
    assert (stream.getvalue(), stream.writes) == ("".join(f"line {n}\n" for n in range(5)), 1)


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
