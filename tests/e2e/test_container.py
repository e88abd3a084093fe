"""The image, run: configured from the environment only, healthy by its own HEALTHCHECK, the contract suite against
it, the JavaScript example against it, a lip-sync task whose media the host serves, and a finished task that
survives a restart with its volume.

It needs a built image named in LIPSYNC_IMAGE and a working podman, which `bash scripts/ci-container` makes; then
`LIPSYNC_IMAGE=localhost/lipsync-mock:ci .venv/bin/pytest -p no:xdist -m container` (the opt-in groups:
conftest.py). Selected without them, it fails.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.test_client_script import run_node

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT / "contract_tests" / "data" / "media"
KEY = "container-test-key"

pytestmark = pytest.mark.container


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, f"podman {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def image() -> str:
    name = os.environ.get("LIPSYNC_IMAGE")
    assert name, "LIPSYNC_IMAGE names no image: bash scripts/ci-container builds localhost/lipsync-mock:ci"
    assert shutil.which("podman"), "podman is missing: apt-get install -y podman (scripts/ci-container)"
    podman("image", "exists", name)
    return name


@pytest.fixture(scope="module")
def media_host() -> Iterator[str]:
    """The sample media, served from the host on loopback: the container shares the host's network."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(MEDIA))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Container:
    """One run of the image on the host's network, configured by environment variables alone."""

    def __init__(self, image: str, port: int, volume: str) -> None:
        self.image, self.port, self.volume = image, port, volume
        self.name = f"lipsync-test-{uuid.uuid4().hex[:12]}"
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        environment = {"LIPSYNC_MOCK_PORT": str(self.port), "LIPSYNC_MOCK_API_KEYS": KEY}
        podman(
            "run", "--detach", "--name", self.name, "--network", "host", "--volume", f"{self.volume}:/data",
            *(f"--env={name}={value}" for name, value in environment.items()),
            self.image,
        )  # fmt: skip

    def wait_healthy(self, seconds: float = 60) -> None:
        """Until the image's own HEALTHCHECK passes (podman runs it on request: no systemd timers here)."""
        deadline = time.monotonic() + seconds
        while podman("healthcheck", "run", self.name, check=False).returncode != 0:
            state = podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()
            assert state == "running" and time.monotonic() < deadline, f"{state}\n{self.logs()}"
            time.sleep(0.5)  # a poll of the container's state, not a timing of the mock
        assert podman("inspect", "--format", "{{.State.Health.Status}}", self.name).stdout.strip() == "healthy"

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)

    def send(self, tasks: list[dict[str, object]]) -> dict[str, object]:
        request = urllib.request.Request(
            f"{self.base}/v1",
            data=json.dumps(tasks).encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def poll_until_done(self, task_uuid: str, seconds: float = 60) -> dict[str, object]:
        deadline = time.monotonic() + seconds
        while True:
            body = self.send([{"taskType": "getResponse", "taskUUID": task_uuid}])
            items = body.get("data") or []
            assert not body.get("errors"), body
            if items and items[0].get("status") == "success":
                return items[0]
            assert time.monotonic() < deadline, body
            time.sleep(0.2)  # the client's polling interval


@pytest.fixture(scope="module")
def volume(image: str) -> Iterator[str]:
    name = f"lipsync-test-data-{uuid.uuid4().hex[:12]}"
    podman("volume", "create", name)
    try:
        yield name
    finally:
        podman("volume", "rm", "--force", name, check=False)


@pytest.fixture(scope="module")
def container(image: str, volume: str) -> Iterator[Container]:
    running = Container(image, free_port(), volume)
    try:
        running.start()
        running.wait_healthy()
        yield running
    finally:
        running.remove()


def test_it_listens_on_every_interface_at_the_port_from_the_environment_and_says_so(container):
    assert f"Running on http://0.0.0.0:{container.port}" in container.logs()
    assert podman("exec", container.name, "id", "-un").stdout.strip() == "mock"
    poll = json.dumps([{"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}]).encode()
    request = urllib.request.Request(f"{container.base}/v1", data=poll, headers={"Authorization": "Bearer other"})
    with pytest.raises(urllib.error.HTTPError) as refused:  # LIPSYNC_MOCK_API_KEYS came through: other keys fail
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_the_contract_suite_passes_against_the_container(container, tmp_path):
    command = [str(ROOT / ".venv" / "bin" / "lipsync-contract"), "--target", f"{container.base}/v1"]
    options = ["--api-key", KEY, "--profile", "quick", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run([*command, *options], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_javascript_example_passes_against_the_container(container):
    """examples/js (the official JS SDK over the WebSocket, a fetch client, faults, a webhook to a receiver on the
    host) against the image, as a JS team's CI would run it against a service container."""
    result = run_node(
        ["--test", "--test-concurrency=1"], {"LIPSYNC_MOCK_URL": container.base, "LIPSYNC_MOCK_API_KEYS": KEY}
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "\n# fail 0\n" in result.stdout and "\n# pass 12\n" in result.stdout, result.stdout[-2000:]


def test_a_task_with_media_from_the_host_finishes_and_survives_a_restart(container, media_host):
    task_uuid = str(uuid.uuid4())
    task = {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": "sync:lipsync-2@1",
        "inputs": {"video": f"{media_host}/speaker.mp4", "audio": f"{media_host}/voice-0.5s.wav"},
    }
    acknowledged = container.send([task])
    assert acknowledged["data"][0]["taskUUID"] == task_uuid, acknowledged
    finished = container.poll_until_done(task_uuid)
    with urllib.request.urlopen(str(finished["videoURL"]), timeout=30) as video:
        result = video.read()
    assert len(result) > 1000 and result[4:8] in (b"ftyp", b"moov"), result[:16]

    podman("restart", "--time", "5", container.name)
    container.wait_healthy()
    again = container.poll_until_done(task_uuid, seconds=10)
    assert again["videoURL"] == finished["videoURL"]
    with urllib.request.urlopen(str(again["videoURL"]), timeout=30) as video:
        assert video.read() == result


@pytest.fixture
def docker_api(image: str, tmp_path) -> Iterator[str]:
    """Podman's Docker-compatible API on a socket of this test's own, for Testcontainers."""
    socket_path = tmp_path / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket_path}"])
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert service.poll() is None and time.monotonic() < deadline, "podman system service did not start"
            time.sleep(0.1)  # waiting for the socket file to appear
        yield f"unix://{socket_path}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_testcontainers_starts_the_image_over_podmans_docker_api(image, docker_api, monkeypatch):
    """As docs/container.md shows it: a generic container, the mapped port asked of Testcontainers."""
    monkeypatch.setenv("DOCKER_HOST", docker_api)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image cannot be pulled here
    monkeypatch.setenv("TESTCONTAINERS_CONNECTION_MODE", "docker_host")  # the mapped port on this host's loopback
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    mock = DockerContainer(image).with_env("LIPSYNC_MOCK_API_KEYS", KEY).with_exposed_ports(8080)
    with mock.waiting_for(LogMessageWaitStrategy("Running on http://0.0.0.0:8080")):
        base = f"http://{mock.get_container_host_ip()}:{mock.get_exposed_port(8080)}"
        poll = json.dumps([{"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}]).encode()
        request = urllib.request.Request(f"{base}/v1", data=poll, headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and json.load(answer)["data"] == []
