"""The official Python SDKs, unmodified, against the mock: each in its own virtual environment under
.venv-sdk/ (both import as `runware`), made by .ci/run or by hand as a failure says. The tests that run them are
the opt-in group `sdks` (conftest.py): `.venv/bin/pytest -m sdks`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests.targets import MediaServer, MediaSet
from mock_server.config import Settings
from mock_server.media import probe
from mock_server.testing import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]
SDKS = {"runware-sdk": "runware-sdk==1.8.0", "runware": "runware==0.5.24"}


def sdk_python(name: str) -> str:
    python = ROOT / ".venv-sdk" / name / "bin" / "python"
    if python.exists():
        return str(python)
    how = (
        f"python3 -m venv .venv-sdk/{name} && .venv-sdk/{name}/bin/pip install "
        f"-c tool-constraints/{name}.txt {SDKS[name]}"
    )
    pytest.fail(f"no {name} environment; make it with: {how}")


def run_example(python: str, script: str, *args: str) -> object:
    done = subprocess.run(
        [python, str(ROOT / "examples" / script), *args], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_videos(urls: list[str]) -> None:
    import urllib.request

    for url in urls:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert probe(response.read()).video_codec == "h264"


@pytest.fixture(scope="module")
def media():
    with MediaServer() as server:
        yield MediaSet.under(server.base_url)


@pytest.mark.sdks
@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_runware_sdk_runs_a_lipsync_task(media, transport):
    python = sdk_python("runware-sdk")
    with BackgroundServer(Settings(processing_rate=0.05)) as mock:
        results = run_example(
            python,
            "runware_sdk.py",
            "--url",
            mock.base_url,
            "--transport",
            transport,
            "--video",
            media.video,
            "--audio",
            media.audio,
        )
        assert len(results) == 2 and len({r["videoUUID"] for r in results}) == 2
        assert all(r["status"] == "success" and r["cost"] == 0.044 for r in results)
        assert_videos([r["videoURL"] for r in results])
        assert [t["taskType"] for t in mock.received() if t.get("taskType") == "videoInference"] == ["videoInference"]


@pytest.mark.sdks
def test_legacy_runware_sdk_acknowledges_then_gets_the_videos(media):
    python = sdk_python("runware")
    # This SDK waits up to 30 s after a poll that only shows "processing"; results ready at once avoid that.
    with BackgroundServer(Settings(processing_rate=0)) as mock:
        answer = run_example(
            python, "runware_legacy.py", "--url", mock.base_url, "--video", media.video, "--audio", media.audio
        )
        assert len(answer["videos"]) == 2
        assert_videos([video["videoURL"] for video in answer["videos"]])
        polls = [t for t in mock.received(answer["taskUUID"]) if t.get("taskType") == "getResponse"]
        assert polls, "the SDK polled with getResponse"


def test_the_sdk_environments_are_not_this_one():
    # Both SDKs import as `runware`; neither may leak into the project's own environment.
    assert subprocess.run([sys.executable, "-c", "import runware"], capture_output=True).returncode != 0
