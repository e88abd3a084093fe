"""Slow and piled-up clients, against real servers on loopback ports: the connection cap answers at once, half-sent
requests are closed after the request timeout, and the command line listens with the same limits as the plugin."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time

from benchmarks.processes import free_port
from mock_server.config import Settings
from mock_server.http.access import ACCESS_LOG
from mock_server.testing import BackgroundServer

HALF_SENT = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # the blank line that ends the headers never comes


async def half_sent(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection whose request never ends; keep the writer, which closes the connection when it is collected."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HALF_SENT)
    await writer.drain()
    return reader, writer


async def get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def error_code(body: bytes) -> str:
    return json.loads(body)["errors"][0]["code"]


async def test_past_the_cap_connections_are_refused_at_once_and_half_sent_ones_closed_after_the_timeout(caplog):
    with BackgroundServer(Settings(max_connections=20, request_timeout=2.0)) as mock:
        opened = time.monotonic()
        connections = [await half_sent(mock.port) for _ in range(30)]
        for refused, _ in connections[20:]:
            head, _, body = (await asyncio.wait_for(refused.read(), 10)).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 ") and error_code(body) == "tooManyConnections"
        status, body = await get(mock.port, "/health")  # answered, not left hanging
        assert (status, error_code(body)) == (503, "tooManyConnections")
        assert time.monotonic() - opened < 2.0  # all of it before any half-sent request timed out
        for held, _ in connections[:20]:
            assert await asyncio.wait_for(held.read(), 10) == b""  # closed without an answer
        assert time.monotonic() - opened >= 1.9
        assert (await get(mock.port, "/health"))[0] == 200
    refusals = [record for record in caplog.records if record.name == "mock_server.http.connections"]
    assert len(refusals) == 11 and "20 are open" in refusals[0].getMessage()  # the 10 past the cap, and /health


async def test_a_body_that_stops_arriving_is_closed_after_the_timeout_and_logged_as_a_408(caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    with BackgroundServer(Settings(request_timeout=0.5)) as mock:
        reader, writer = await asyncio.open_connection("127.0.0.1", mock.port)
        writer.write(b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n[{")
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 10) == b""
        assert time.monotonic() - started >= 0.45
        assert (await get(mock.port, "/health"))[0] == 200
    assert any(record.getMessage().startswith("POST /v1 408 ") for record in caplog.records)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]  # no traceback


async def test_the_command_line_listens_with_the_same_limits():
    port = free_port()
    command = [sys.executable, "-m", "mock_server", "--port", str(port), "--log-format", "json"]
    command += ["--max-connections", "2", "--request-timeout", "1"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert server.stderr is not None
        for line in server.stderr:  # until it says it listens
            if "Running on" in json.loads(line)["message"]:
                break
        opened = time.monotonic()
        held = [await half_sent(port) for _ in range(2)]
        status, body = await get(port, "/health")
        assert (status, error_code(body)) == (503, "tooManyConnections")
        for reader, _ in held:
            assert await asyncio.wait_for(reader.read(), 10) == b""
        assert time.monotonic() - opened >= 0.9
        assert (await get(port, "/health"))[0] == 200
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
