"""The Containerfile, checked without a container tool: its health check run as it is against a mock, and what it
must declare. The image itself is built and run by tests/e2e/test_container.py (scripts/ci-container)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from mock_server.testing import BackgroundServer

CONTAINERFILE = (Path(__file__).resolve().parent.parent / "Containerfile").read_text()


def health_check_code() -> str:
    """The Python the HEALTHCHECK runs (`CMD python3 -c "…"`, shell form, continued lines joined)."""
    joined = CONTAINERFILE.replace("\\\n", " ")
    (command,) = re.findall(r"^HEALTHCHECK .*? CMD (.*)$", joined, re.MULTILINE)
    python, flag, code = shlex.split(command)
    assert (python, flag) == ("python3", "-c")  # python3: the name every Debian-like base has
    return code


def run_health_check(port: int) -> int:
    environ = {**os.environ, "LIPSYNC_MOCK_PORT": str(port)}
    return subprocess.run([sys.executable, "-c", health_check_code()], env=environ, capture_output=True).returncode


def test_the_health_check_follows_the_configured_port():
    with BackgroundServer() as mock:
        assert run_health_check(mock.port) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    assert run_health_check(closed_port) != 0


def test_it_runs_as_a_user_on_every_interface_at_the_port_from_the_environment():
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", CONTAINERFILE, re.MULTILINE)
    assert re.findall(r"^FROM (\S+)", CONTAINERFILE, re.MULTILINE) == ["${BASE_IMAGE}", "${BASE_IMAGE}"]
    assert re.search(r"^USER mock$", CONTAINERFILE, re.MULTILINE)
    assert "LIPSYNC_MOCK_HOST=0.0.0.0" in CONTAINERFILE and "LIPSYNC_MOCK_PORT=8080" in CONTAINERFILE
    assert "LIPSYNC_MOCK_DATA_DIR=/data" in CONTAINERFILE and re.search(r"^VOLUME /data$", CONTAINERFILE, re.MULTILINE)
    assert re.search(r"^ENTRYPOINT \[\"lipsync-mock\"\]$", CONTAINERFILE, re.MULTILINE)


def test_it_installs_from_the_wheels_of_its_context_only():
    assert "--no-index --find-links /tmp/wheels" in CONTAINERFILE
    assert re.search(r"^COPY wheels/ /tmp/wheels/$", CONTAINERFILE, re.MULTILINE)
