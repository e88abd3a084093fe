"""The contract suite from a wheel, not a checkout: build the wheel, install it with the `contract` extra into a
fresh virtual environment, start `lipsync-mock` from there, and run `lipsync-contract` (and plain
`pytest --pyargs contract_tests`) against it from a folder that holds no checkout files.

It takes about a minute (a fresh environment, its dependencies from PyPI or the pip cache), so it runs only
when selected: `.venv/bin/pytest -m wheel`, as .ci/run does (the opt-in groups: conftest.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_contract_cli import SERVER_MACHINERY, collecting_for_a_target, loaded_by

ROOT = Path(__file__).resolve().parents[2]
KEY = "wheel-test-key"
# The checkout minus everything that is not source: the wheel is built from a copy, so the checkout stays clean.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".schemathesis"
)

pytestmark = pytest.mark.wheel


def run(command, cwd, timeout=600):
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The bin folder of a fresh environment with the wheel and its `contract` extra installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"), "."], source)
    (wheel,) = (work / "dist").glob("lipsync_mock-*.whl")
    run([sys.executable, "-m", "venv", str(work / "venv")], work)
    pip = [str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, "-c", str(ROOT / "constraints.txt"), f"{wheel}[contract]"], work)
    return work / "venv" / "bin"


@pytest.fixture(scope="module")
def mock_from_the_wheel(installed, tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("mock") / "mock.log").open("w")
    command = [str(installed / "lipsync-mock"), "--port", str(port), "--api-key", KEY, "--processing-rate", "0.05"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"the mock from the wheel did not start: {log.name}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_lipsync_contract_from_the_wheel_passes_against_the_mock(installed, mock_from_the_wheel, tmp_path):
    command = [str(installed / "lipsync-contract"), "--target", mock_from_the_wheel, "--api-key", KEY]
    out = run([*command, "--profile", "quick", "-q", "-p", "no:cacheprovider"], tmp_path)
    assert " passed" in out and "failed" not in out and "PytestAssertRewriteWarning" not in out, out[-2000:]
    assert str(installed.parent) in run(
        [str(installed / "python"), "-c", "import contract_tests; print(contract_tests.__file__)"], tmp_path
    )


def test_record_then_check_drift_from_the_wheel(installed, mock_from_the_wheel, tmp_path):
    """The loop a user runs with no checkout: record a target (here the mock stands in for the real service),
    then check a target against the recording."""
    recording = tmp_path / "recording"
    contract = str(installed / "lipsync-contract")
    options = ["--target", mock_from_the_wheel, "--api-key", KEY]
    run([contract, *options, "--record", str(recording), "--profile", "quick", "-q", "-k", "flow"], tmp_path)
    assert list(recording.glob("*.json")), "nothing was recorded"
    assert KEY not in "".join(path.read_text() for path in recording.glob("*.json"))
    out = run([contract, "drift", str(recording), *options, "--report", str(tmp_path / "drift")], tmp_path)
    assert (tmp_path / "drift.json").exists() and (tmp_path / "drift.xml").exists(), out


def test_the_wheel_marks_both_packages_typed(installed):
    """py.typed (PEP 561) in each package: a user's type checker reads the pytest plugin's and the strategies'
    annotations instead of taking them as untyped."""
    typed = {marker.parent.name for marker in installed.parent.glob("lib/python*/site-packages/*/py.typed")}
    assert {"mock_server", "contract_tests"} <= typed, sorted(typed)


def test_the_installed_suite_for_a_target_loads_none_of_the_server(installed, tmp_path):
    """What the `contract` extra installs is enough to collect every case for a target, and none of the
    server's machinery is loaded doing it."""
    loaded = loaded_by(collecting_for_a_target(), tmp_path, python=installed / "python")
    assert "contract_tests.test_flow" in loaded
    assert loaded.isdisjoint(SERVER_MACHINERY), sorted(loaded & set(SERVER_MACHINERY))


def test_plain_pytest_runs_the_installed_suite(installed, mock_from_the_wheel, tmp_path):
    command = [str(installed / "pytest"), "--pyargs", "contract_tests", "--target", mock_from_the_wheel]
    out = run(
        [*command, "--api-key", KEY, "--profile", "quick", "-q", "-p", "no:cacheprovider", "-k", "flow"], tmp_path
    )
    assert " passed" in out and "failed" not in out, out[-2000:]
