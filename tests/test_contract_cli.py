"""The `lipsync-contract` command: the suite with its reports, the options known to a plain `pytest --pyargs`, and
the drift check's usage errors (exit status 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from contract_tests.cli import main
from mock_server.config import Settings
from mock_server.testing import BackgroundServer

KEY = "cli-test-key"
QUICK = ["--profile", "quick", "-q", "-p", "no:cacheprovider"]
# The server's machinery and its heavy dependencies: what the suite run against a target must not load.
SERVER_MACHINERY = ("mock_server.dispatcher", "mock_server.app", "av", "aiohttp.web")


@pytest.fixture(scope="module")
def mock():
    with BackgroundServer(Settings(api_keys=(KEY,), processing_rate=0.05)) as server:
        yield server


def run(command, cwd):
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_suite_writes_junit_xml_and_the_conformance_table(mock, tmp_path):
    command = [sys.executable, "-m", "contract_tests.cli", "--target", mock.url, "--api-key", KEY, *QUICK]
    command += ["-k", "past_the_boundary and outputQuality", "--junitxml", "junit.xml"]
    out = run([*command, "--conformance-report", "reports/conformance"], tmp_path)
    assert "lipsync-2 conformance" in out and "PytestAssertRewriteWarning" not in out
    cases = ElementTree.parse(tmp_path / "junit.xml").getroot().findall(".//testcase")
    assert len(cases) == 4 and not ElementTree.parse(tmp_path / "junit.xml").getroot().findall(".//failure")
    table = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert table["parameters"] == [
        {"parameter": "outputQuality", "tried": 4, "accepted": 0, "refused": 4, "unexpected": 0}
    ]
    markdown = (tmp_path / "reports" / "conformance.md").read_text().splitlines()
    assert "| parameter | tried | accepted | refused | unexpected |" in markdown
    assert "| `outputQuality` | 4 | 0 | 4 | 0 |" in markdown


def test_plain_pytest_knows_the_options_from_any_folder(mock, tmp_path):
    command = [sys.executable, "-m", "pytest", "--pyargs", "contract_tests", "--target", mock.url, "--api-key", KEY]
    out = run([*command, *QUICK, "-k", "a_wrong_key"], tmp_path)
    assert "1 passed" in out


def loaded_by(code, cwd, python=sys.executable):
    """The modules a fresh interpreter holds after running `code`."""
    shown = run([str(python), "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"], cwd)
    return set(json.loads(shown.splitlines()[-1]))


def collecting_for_a_target(extra=()):
    """The code that collects every case of the suite, as `lipsync-contract` does, for a target that is not there."""
    arguments = ["--target", "http://127.0.0.1:9/v1", "--api-key", KEY, "--collect-only", "-q", *extra]
    return f"from contract_tests.cli import main\nmain({arguments!r})"


def test_the_suites_modules_load_none_of_the_server(tmp_path):
    modules = ("client", "strategies", "schema_drift", "plugin", "drift", "conformance", "spending", "targets")
    loaded = loaded_by("\n".join(f"import contract_tests.{name}" for name in modules), tmp_path)
    assert {"contract_tests.client", "contract_tests.drift"} <= loaded
    assert loaded.isdisjoint(SERVER_MACHINERY), sorted(loaded & set(SERVER_MACHINERY))


def test_collecting_the_suite_for_a_target_loads_none_of_the_server(tmp_path):
    # pytest-aiohttp, installed for the project's own tests, loads aiohttp.web itself: left out here.
    loaded = loaded_by(collecting_for_a_target(extra=["-p", "no:aiohttp"]), tmp_path)
    assert "contract_tests.test_flow" in loaded
    assert loaded.isdisjoint(SERVER_MACHINERY), sorted(loaded & set(SERVER_MACHINERY))


def test_drift_needs_a_folder_of_recordings(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.json").write_text('{"not": "a recording"}')
    for arguments in (
        [],
        [str(tmp_path / "missing"), "--target", "http://127.0.0.1:9/v1"],
        [str(tmp_path / "empty"), "--target", "http://127.0.0.1:9/v1"],
        [str(tmp_path / "other"), "--target", "http://127.0.0.1:9/v1"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["drift", *arguments])
        assert exit_.value.code == 2, arguments
    assert "not a recording" in capsys.readouterr().err


def test_drift_against_a_target_that_does_not_answer_is_not_drift(tmp_path, capsys):
    exchange = {
        "request": {"method": "POST", "headers": {}, "body": [{"taskType": "getResponse", "taskUUID": "x"}]},
        "response": {"status": 404, "headers": {}, "body": {"errors": []}},
    }
    (tmp_path / "case.json").write_text(json.dumps({"case": "c", "exchanges": [exchange]}))
    assert main(["drift", str(tmp_path), "--target", "http://127.0.0.1:9/v1"]) == 2
    assert "did not answer" in capsys.readouterr().err
