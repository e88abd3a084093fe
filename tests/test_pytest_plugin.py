from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.config import Settings
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent


def post(url: str, tasks, key: str = "any-key") -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(tasks).encode(), {"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_fixture_serves_a_fresh_mock_and_shows_what_it_received(lipsync_mock):
    task = with_inline_media(example_task())
    assert lipsync_mock.url.startswith("http://127.0.0.1:")
    assert post(lipsync_mock.url, [task])[0] == 200
    poll = {"taskType": "getResponse", "taskUUID": task["taskUUID"]}
    assert post(lipsync_mock.url, [poll])[1]["data"][0]["status"] == "success"
    assert lipsync_mock.received() == [task, poll]
    assert lipsync_mock.received(task["taskUUID"]) == [task, poll]
    assert lipsync_mock.received("3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f") == []


class TestConfigured:
    @pytest.fixture
    def lipsync_mock_settings(self):
        return Settings(api_keys=("only-this",))

    def test_the_settings_fixture_configures_it(self, lipsync_mock):
        assert post(lipsync_mock.url, [example_task()], key="other")[0] == 401
        assert post(lipsync_mock.url, [example_task()], key="only-this")[0] == 200


async def test_it_serves_async_tests_too(lipsync_mock, aiohttp_client):
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{lipsync_mock.base_url}/health") as response:
        assert response.status == 200


# The control operations and assertions of the fixture.


def submitted(mock, **changes) -> dict:
    task = {**example_task(), "inputs": {"video": mock.media_url("speaker.mp4"), "audio": mock.media_url("voice.wav")}}
    task.update(changes)
    assert post(mock.url, [task])[0] == 200
    return task


def poll(mock, task_uuid: str) -> tuple[int, dict]:
    return post(mock.url, [{"taskType": "getResponse", "taskUUID": task_uuid}])


def test_media_url_serves_the_sample_media_shipped_in_the_package(lipsync_mock):
    with urllib.request.urlopen(lipsync_mock.media_url("voice.wav"), timeout=10) as response:
        assert response.headers["Content-Type"] == "audio/wav" and response.read(4) == b"RIFF"
    task = submitted(lipsync_mock, includeCost=True)
    assert poll(lipsync_mock, task["taskUUID"])[1]["data"][0]["cost"] == 0.044  # the mock fetched both
    with pytest.raises(ValueError, match=r"speaker\.mp4, voice-0\.5s\.wav, voice-2\.5s\.wav, voice\.wav"):
        lipsync_mock.media_url("missing.mp4")


def test_fault_injects_and_faults_lists_and_clears(lipsync_mock):
    rule = lipsync_mock.fault("status=503", task_type="getResponse", times=1)
    assert rule == {"fault": "status=503", "taskUUID": None, "taskType": "getResponse", "times": 1, "namespace": ""}
    task = submitted(lipsync_mock)
    assert poll(lipsync_mock, task["taskUUID"])[0] == 503
    assert poll(lipsync_mock, task["taskUUID"])[0] == 200
    lipsync_mock.fault("latency=1")
    assert [rule["fault"] for rule in lipsync_mock.faults()] == ["latency=1"]
    lipsync_mock.clear_faults()
    assert lipsync_mock.faults() == []


def test_set_lifecycle_and_complete(lipsync_mock):
    lipsync_mock.set_lifecycle("manual")
    task = submitted(lipsync_mock)
    assert poll(lipsync_mock, task["taskUUID"])[1]["data"][0]["status"] == "processing"
    lipsync_mock.complete(task["taskUUID"])
    assert poll(lipsync_mock, task["taskUUID"])[1]["data"][0]["status"] == "success"


def test_set_processing_rate(lipsync_mock):
    lipsync_mock.set_processing_rate(60)
    task = submitted(lipsync_mock)
    lipsync_mock.wait_idle()
    assert poll(lipsync_mock, task["taskUUID"])[1]["data"][0]["status"] == "processing"
    assert lipsync_mock.dispatcher.runner.lifecycle.processing_rate == 60


def test_deliveries(lipsync_mock):
    with Receiver() as receiver:
        task = submitted(lipsync_mock, webhookURL=receiver.url("/hook"))
        lipsync_mock.wait_idle()
        (attempt,) = lipsync_mock.deliveries(task["taskUUID"])
        assert (attempt["kind"], attempt["status"], attempt["url"]) == ("webhook", 200, receiver.url("/hook"))
        assert lipsync_mock.deliveries("3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f") == []


def test_requests_filters_by_task_and_refusal(lipsync_mock):
    task = submitted(lipsync_mock)
    assert post(lipsync_mock.url, [{**example_task(), "outputQuality": 5}])[0] == 400
    assert [entry["outcome"] for entry in lipsync_mock.requests()] == ["ok", "refused"]
    (refused,) = lipsync_mock.requests(refused=True)
    assert refused["response"]["errors"][0]["parameter"] == "outputQuality"
    assert [entry["request"] for entry in lipsync_mock.requests(refused=False)] == [[task]]
    assert [entry["request"] for entry in lipsync_mock.requests(task["taskUUID"])] == [[task]]


def test_reset_forgets_everything(lipsync_mock):
    submitted(lipsync_mock)
    lipsync_mock.fault("latency=1")
    lipsync_mock.reset()
    assert lipsync_mock.received() == [] and lipsync_mock.faults() == [] and lipsync_mock.requests() == []


def test_assert_submitted_once_matches_a_subset_of_the_fields(lipsync_mock):
    task = submitted(lipsync_mock, providerSettings={"sync": {"syncMode": "cut_off", "temperature": 0.3}})
    found = lipsync_mock.assert_submitted_once(
        taskUUID=task["taskUUID"], providerSettings={"sync": {"temperature": 0.3}}
    )
    assert found == task
    lipsync_mock.assert_submitted_once(model="sync:lipsync-2@1")
    with pytest.raises(
        AssertionError, match=r'found 0; .*\n  \{"taskType": "videoInference", "model": "sync:lipsync-2@1"'
    ):
        lipsync_mock.assert_submitted_once(model="other")
    with pytest.raises(AssertionError, match="found 0"):
        lipsync_mock.assert_submitted_once(providerSettings={"sync": {"syncMode": "loop"}})
    submitted(lipsync_mock)
    with pytest.raises(AssertionError, match="found 2"):
        lipsync_mock.assert_submitted_once(model="sync:lipsync-2@1")


def test_assert_submitted_once_counts_a_retry_after_an_injected_fault_once(lipsync_mock):
    lipsync_mock.fault("status=502", task_type="videoInference", times=1)
    task = {**example_task(), "inputs": {"video": lipsync_mock.media_url("speaker.mp4")}}
    assert post(lipsync_mock.url, [task])[0] == 502
    assert post(lipsync_mock.url, [task])[0] == 200
    lipsync_mock.assert_submitted_once(taskUUID=task["taskUUID"])
    lipsync_mock.assert_nothing_refused()  # an injected fault is not a refusal


def test_assert_nothing_refused_lists_each_refusal(lipsync_mock):
    submitted(lipsync_mock)
    lipsync_mock.assert_nothing_refused()
    post(lipsync_mock.url, [{**example_task(), "outputQuality": 5}])
    with pytest.raises(
        AssertionError, match=r"refused 1 request\(s\):\n  HTTP 400: invalidOutputQuality outputQuality"
    ):
        lipsync_mock.assert_nothing_refused()


# The session's shared mock, and the documentation's examples, each run in a pytest of their own.

pytest_plugins = ["pytester"]


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytest session of its own, set as this project's is (pytest-asyncio warns when the loop scope is unset)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


SHARING = """
import pytest
from mock_server.config import Settings

SEEN = []


def test_one_changes_everything(lipsync_mock):
    SEEN.append(lipsync_mock.base_url)
    lipsync_mock.set_processing_rate(5)
    lipsync_mock.set_lifecycle("manual")
    lipsync_mock.fault("latency=1")


def test_two_finds_a_fresh_mock_on_the_same_server(lipsync_mock, lipsync_mock_session):
    SEEN.append(lipsync_mock.base_url)
    assert lipsync_mock is lipsync_mock_session
    assert lipsync_mock.faults() == [] and lipsync_mock.requests() == []
    assert lipsync_mock.dispatcher.runner.lifecycle.processing_rate == 0


class TestOwnSettings:
    @pytest.fixture
    def lipsync_mock_settings(self):
        return Settings(processing_rate=0.0)

    def test_gets_a_server_of_its_own(self, lipsync_mock):
        assert lipsync_mock.base_url not in SEEN


def test_one_server_for_the_rest():
    assert len(set(SEEN)) == 1
"""


def run_tests(pytester, passed: int, **files: str) -> None:
    """Run test files in a pytest session of their own (the plugin is registered there too)."""
    pytester.makepyfile(**files)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=passed)


def test_the_session_shares_one_mock_reset_before_each_test(pytester):
    run_tests(pytester, 4, test_sharing=SHARING)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)


def test_the_readmes_plugin_example_runs(pytester):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Your own tests, with the pytest plugin") :]
    (example, *_) = python_blocks(section)
    run_tests(pytester, 1, test_readme_example=example)


def test_the_plugin_pages_examples_run(pytester):
    blocks = python_blocks((ROOT / "docs" / "plugin.md").read_text())
    assert len(blocks) == 2
    run_tests(pytester, 4, **{f"test_plugin_doc_{number}": block for number, block in enumerate(blocks)})


# Client coverage: the session's summary, the report file and the gate.

BOUNCE_ONLY = """
import json
import urllib.request
import uuid


def call(api_url, tasks):
    request = urllib.request.Request(api_url, json.dumps(tasks).encode(), {"Authorization": "Bearer any-key"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_bounce_to_success(lipsync_mock):
    task = {
        "taskType": "videoInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "sync:lipsync-2@1",
        "inputs": {"video": lipsync_mock.media_url("speaker.mp4"), "audio": lipsync_mock.media_url("voice.wav")},
        "providerSettings": {"sync": {"syncMode": "bounce"}},
    }
    call(lipsync_mock.url, [task])
    answer = call(lipsync_mock.url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert answer["data"][0]["status"] == "success"


def test_another_bounce_on_a_reset_mock(lipsync_mock):
    test_bounce_to_success(lipsync_mock)
"""


def run_bounce_only(pytester, *options: str) -> pytest.RunResult:
    pytester.makepyfile(test_bounce_only=BOUNCE_ONLY)
    return pytester.runpytest("-p", "no:cacheprovider", *options)


def test_a_bounce_only_suite_is_told_what_it_never_met_and_fails_the_gate(pytester):
    result = run_bounce_only(pytester, "--lipsync-coverage-fail-under", "50", "--lipsync-coverage-report", "cov.txt")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "lipsync-mock client coverage: " in output
    assert "FAIL: client coverage" in output and "--lipsync-coverage-fail-under 50" in output
    report = json.loads((pytester.path / "cov.json").read_text())
    values = {entry["name"]: entry["met"] for entry in report["sections"]["values"]["entries"]}
    assert values["providerSettings.sync.syncMode=bounce"] is True
    for mode in ("loop", "cut_off", "silence", "remap"):
        assert values[f"providerSettings.sync.syncMode={mode}"] is False
    errors = report["sections"]["errors"]
    assert errors["met"] == 0 and {"invalidTemperature", "processingFailed"} <= {e["name"] for e in errors["entries"]}
    outcomes = {entry["name"]: entry["met"] for entry in report["sections"]["outcomes"]["entries"]}
    assert outcomes == {"status=processing": False, "status=success": True, "status=error": False}
    assert report["percent"] < 50
    markdown = (pytester.path / "cov.md").read_text()
    assert "- [x] `providerSettings.sync.syncMode=bounce`" in markdown
    assert "- [ ] `providerSettings.sync.syncMode=remap`" in markdown and "- [ ] `status=error`" in markdown


def test_the_summary_names_what_was_never_met_and_a_met_gate_passes(pytester):
    result = run_bounce_only(pytester, "--lipsync-coverage-fail-under", "0")
    assert result.ret == pytest.ExitCode.OK
    line = next(line for line in result.outlines if line.strip().startswith("outcomes"))
    assert "1/3" in line and "never met: status=processing, status=error" in line


def test_under_xdist_the_controller_reports_every_workers_coverage(pytester):
    result = run_bounce_only(pytester, "-p", "xdist", "-n", "2", "--lipsync-coverage-report", "cov")
    result.assert_outcomes(passed=2)
    assert "lipsync-mock client coverage: " in result.stdout.str()
    values = json.loads((pytester.path / "cov.json").read_text())["sections"]["values"]
    assert [entry["name"] for entry in values["entries"] if entry["met"]] == ["providerSettings.sync.syncMode=bounce"]


NO_CONTROL = """
import pytest
from mock_server.config import Settings


@pytest.fixture
def lipsync_mock_settings():
    return Settings(control=False)


def test_a_mock_without_its_control_api(lipsync_mock):
    assert lipsync_mock.url.endswith("/v1")
"""


def test_a_mock_of_its_own_without_the_control_api_adds_no_coverage_and_no_error(pytester):
    pytester.makepyfile(test_no_control=NO_CONTROL)
    result = pytester.runpytest("-p", "no:cacheprovider", "--lipsync-coverage-fail-under", "1")
    result.assert_outcomes(passed=1)
    assert "client coverage: 0.0% (none was read" in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # nothing was measured: under any gate


@pytest.mark.parametrize("percent", ["0", "100"])
def test_the_gate_takes_a_percentage_from_0_to_100(pytester, percent):
    result = run_bounce_only(pytester, "--lipsync-coverage-fail-under", percent)
    result.assert_outcomes(passed=2)
    assert result.ret == (pytest.ExitCode.OK if percent == "0" else pytest.ExitCode.TESTS_FAILED)


@pytest.mark.parametrize("percent", ["-0.1", "100.1", "half"])
def test_the_gate_refuses_what_is_no_percentage(pytester, percent):
    result = run_bounce_only(pytester, "--lipsync-coverage-fail-under", percent)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "a percentage from 0 to 100" in result.stderr.str()


def test_a_session_that_never_used_the_mock_fails_the_gate_and_prints_nothing_without_one(pytester):
    pytester.makepyfile(test_plain="def test_plain(): pass")
    assert "client coverage" not in pytester.runpytest("-p", "no:cacheprovider").stdout.str()
    result = pytester.runpytest("-p", "no:cacheprovider", "--lipsync-coverage-fail-under", "10")
    assert result.ret == pytest.ExitCode.TESTS_FAILED and "client coverage: 0.0%" in result.stdout.str()
