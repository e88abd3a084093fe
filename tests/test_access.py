"""The access log (one line per request, no bodies or keys), its JSON form, --quiet, and start-up failures that
end with one line and exit 2."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from contract_tests.payloads import example_task
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.http.access import ACCESS_LOG
from mock_server.logs import JsonFormatter

KEY = "secret-key-never-logged"
POLL = {"taskType": "getResponse", "taskUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"}


def access_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == ACCESS_LOG.name]


async def test_one_line_per_request_without_body_or_key(aiohttp_client, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    client = await aiohttp_client(create_app(Settings(api_keys=(KEY,))))
    task = example_task()
    await client.post("/v1", json=[task, POLL, POLL], headers={"Authorization": f"Bearer {KEY}"})
    await client.get("/health")
    first, second = access_records(caplog)
    assert first.getMessage().startswith("POST /v1 [videoInference,getResponse:2] 200 ")
    assert first.getMessage().endswith(" ms")
    assert first.access["taskTypes"] == {"videoInference": 1, "getResponse": 2}
    assert second.getMessage().startswith("GET /health 200 ")
    logged = caplog.text
    assert KEY not in logged and task["taskUUID"] not in logged and task["inputs"]["video"] not in logged


async def test_a_refusal_is_logged_with_its_status(aiohttp_client, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    client = await aiohttp_client(create_app(Settings(api_keys=(KEY,))))
    await client.post("/v1", json=[POLL], headers={"Authorization": "Bearer wrong"})
    await client.get("/nowhere?apiKey=also-secret")
    refused, missing = access_records(caplog)
    assert refused.getMessage().startswith("POST /v1 [getResponse] 401 ")
    assert missing.getMessage().startswith("GET /nowhere 404 ") and "also-secret" not in caplog.text


async def test_quiet_turns_the_access_log_off(aiohttp_client, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    client = await aiohttp_client(create_app(Settings(quiet=True)))
    assert (await client.get("/health")).status == 200
    assert access_records(caplog) == []


def test_a_json_line_carries_the_access_fields():
    record = logging.LogRecord(ACCESS_LOG.name, logging.INFO, __file__, 1, "GET /health 200 0.4 ms", (), None)
    record.access = {"method": "GET", "path": "/health", "taskTypes": {}, "status": 200, "ms": 0.4}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /health 200 0.4 ms" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["ms"]) == ("GET", "/health", 200, 0.4)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command_output(**environ: str) -> tuple[str, str]:
    """What `python -m mock_server` writes to stdout and stderr while /health is asked once."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mock_server"],
        env={**os.environ, **environ, "LIPSYNC_MOCK_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)
    return output


def test_the_command_logs_json_lines_when_the_environment_says_so():
    stdout, stderr = command_output(LIPSYNC_MOCK_LOG_FORMAT="json")
    assert stdout == ""
    lines = [json.loads(line) for line in stderr.splitlines()]
    assert any(line["message"].startswith("Running on http://127.0.0.1") for line in lines)  # every line is JSON
    health = [line for line in lines if line.get("path") == "/health" and line["status"] == 200]
    assert health and health[0]["method"] == "GET" and health[0]["logger"] == ACCESS_LOG.name


def test_the_command_logs_text_lines_by_default():
    access = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO lipsync_mock\.access: GET /health 200 [\d.]+ ms")
    assert any(access.fullmatch(line) for line in command_output()[1].splitlines())


def test_an_unusable_data_dir_ends_with_one_line_and_exit_2(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    run = subprocess.run(
        [sys.executable, "-m", "mock_server", "--data-dir", str(not_a_folder / "data"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("lipsync-mock: cannot use ") and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("arguments", "environ", "named"),
    [(["--log-format", "yaml"], {}, "--log-format"), ([], {"LIPSYNC_MOCK_QUIET": "maybe"}, "LIPSYNC_MOCK_QUIET")],
)
def test_bad_log_settings_exit_2_naming_the_setting(arguments, environ, named, refused_at_start, monkeypatch):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    status, stderr = refused_at_start(*arguments)
    assert status == 2 and named in stderr, stderr


async def test_a_path_is_logged_as_sent_so_it_cannot_forge_a_line(aiohttp_client, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    client = await aiohttp_client(create_app(Settings()))
    await client.get("/x%0A2026-01-01 INFO lipsync_mock.access: GET /forged 200 1.0 ms")
    (record,) = access_records(caplog)
    assert "\n" not in record.getMessage() and record.getMessage().startswith("GET /x%0A2026-01-01%20INFO")
