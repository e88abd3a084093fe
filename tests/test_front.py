"""The front door: a client gone before its body arrived is no error of the mock's."""

from __future__ import annotations

import logging
import socket
import time

from mock_server.config import Settings
from mock_server.testing import BackgroundServer


def test_a_body_abandoned_halfway_is_logged_as_a_client_gone_not_an_error(caplog):
    caplog.set_level(logging.INFO)
    with BackgroundServer(Settings()) as mock:
        connection = socket.create_connection(("127.0.0.1", mock.port))
        head = b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        connection.sendall(head + b'[{"taskType": ')
        time.sleep(0.2)  # the handler is reading the body
        connection.close()
        deadline = time.monotonic() + 10
        while not any("POST /v1" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(r.getMessage().startswith("POST /v1 0 ") for r in caplog.records)  # status 0: no one was answered
