"""Client coverage through the public endpoints: GET /__mock/coverage after REST and WebSocket traffic, faults,
deliveries, namespaces and reset; the denominator made from the schemas and the error catalogue."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server import exceptions
from mock_server.config import Settings
from mock_server.coverage import MAX_NAMESPACES, MEDIA_PARAMETERS, ClientCoverage, media_form
from mock_server.faults import FAULT_KINDS
from mock_server.schema_registry import schemas
from mock_server.testing import BackgroundServer, MockControl
from tests.receiver import Receiver
from tests.test_pytest_plugin import post


@pytest.fixture(scope="module")
def mock():
    with BackgroundServer(Settings(processing_rate=0.0, delivery_first_delay=0.01)) as server:
        yield server


@pytest.fixture
def control(mock):
    control = MockControl(mock.base_url)
    mock.wait_idle()
    control.reset()
    return control


def coverage(mock, namespace: str | None = None) -> dict[str, Any]:
    return MockControl(mock.base_url, namespace=namespace).coverage()


def met(report: dict[str, Any], section: str) -> set[str]:
    return {entry["name"] for entry in report["sections"][section]["entries"] if entry["met"]}


def names(report: dict[str, Any], section: str) -> list[str]:
    return [entry["name"] for entry in report["sections"][section]["entries"]]


def poll(mock, task_uuid: str) -> tuple[int, dict]:
    return post(mock.url, [{"taskType": "getResponse", "taskUUID": task_uuid}])


def test_a_fresh_mock_met_nothing_and_says_what_there_is(mock, control):
    report = coverage(mock)
    assert report["met"] == 0 and report["percent"] == 0.0 and report["total"] > 100
    assert list(report["sections"]) == [
        "parameters",
        "values",
        "boundaries",
        "errors",
        "outcomes",
        "faults",
        "deliveries",
        "transports",
        "media",
    ]
    for section in report["sections"].values():
        assert section["met"] == 0 and section["total"] == len(section["entries"]) > 0
        assert all(entry == {"name": entry["name"], "met": False} for entry in section["entries"])
    assert "providerSettings.sync.syncMode=remap" in names(report, "values")
    assert "invalidTemperature" in names(report, "errors")
    assert "status=error" in names(report, "outcomes")


def test_a_bounce_task_polled_to_success_meets_what_it_sent_and_nothing_else(mock, control):
    task = with_inline_media(example_task())
    task["providerSettings"] = {"sync": {"syncMode": "bounce", "temperature": 1}}
    task["outputQuality"] = 20
    assert post(mock.url, [task])[0] == 200
    assert poll(mock, task["taskUUID"])[1]["data"][0]["status"] == "success"
    report = coverage(mock)
    assert {"taskType=videoInference", "inputs.video", "providerSettings.sync.syncMode"} <= met(report, "parameters")
    assert "providerSettings.sync.segments" not in met(report, "parameters")
    assert met(report, "values") == {"providerSettings.sync.syncMode=bounce"}
    assert met(report, "boundaries") == {"providerSettings.sync.temperature=1 (maximum)", "outputQuality=20 (minimum)"}
    assert met(report, "outcomes") == {"status=success"}
    assert met(report, "errors") == set()
    assert met(report, "transports") == {"REST"}
    assert met(report, "media") == {"data URI"}
    unmet = set(names(report, "values")) - met(report, "values")
    assert {f"providerSettings.sync.syncMode={mode}" for mode in ("loop", "cut_off", "silence", "remap")} <= unmet
    section = report["sections"]["values"]
    assert section["percent"] == round(100 * 1 / section["total"], 1)
    assert report["percent"] == round(100 * report["met"] / report["total"], 1)


def test_refusals_meet_their_codes_and_a_refused_task_no_parameters(mock, control):
    bad = {**example_task(), "providerSettings": {"sync": {"temperature": 1.5}}}
    assert post(mock.url, [bad])[0] == 400
    assert post(mock.url, [{**example_task(), "outputFormat": "GIF"}])[0] == 400
    assert post(mock.url, [example_task()], key="")[0] == 401
    report = coverage(mock)
    assert met(report, "errors") == {"invalidTemperature", "unsupportedOutputFormat", "missingApiKey"}
    assert met(report, "values") == set() and met(report, "boundaries") == set()


def test_a_failed_task_and_the_fault_it_carried(mock, control):
    control.add_fault("fail_after_polls=1; code=timeoutProvider", task_type="videoInference")
    task = with_inline_media(example_task())
    assert post(mock.url, [task])[0] == 200
    status, body = poll(mock, task["taskUUID"])
    assert status == 400 and body["errors"][0]["code"] == "timeoutProvider"
    report = coverage(mock)
    assert met(report, "faults") == {"fail_after_polls"}
    assert met(report, "outcomes") == {"status=error"}
    assert "timeoutProvider" in met(report, "errors")


def test_uploads_and_media_forms(mock, control):
    upload = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload"}
    video = with_inline_media(example_task())["inputs"]["video"]
    status, body = post(mock.url, [{**upload, "media": video.partition(",")[2]}])  # plain base64
    assert status == 200
    media_uuid = body["data"][0]["mediaUUID"]
    task = {**example_task(), "inputs": {"video": media_uuid, "audio": "https://example.com/voice.wav"}}
    assert post(mock.url, [task])[0] == 200
    report = coverage(mock)
    assert met(report, "media") == {"base64", "mediaUUID", "URL"}
    assert {"mediaStorage.media", "mediaStorage.operation"} <= met(report, "parameters")
    assert met(report, "values") == {"mediaStorage.operation=upload"}


def test_webhooks_delivered_retried_and_given_up(mock, control):
    with Receiver(fail_first=1) as flaky, Receiver(fail_first=100) as down:
        for receiver in (flaky, down):
            task = with_inline_media({**example_task(), "webhookURL": receiver.url("/hook")})
            assert post(mock.url, [task])[0] == 200
        mock.wait_idle()
    assert met(coverage(mock), "deliveries") == {"webhook delivered", "webhook retried", "webhook given up"}


async def test_the_websocket_and_a_resumed_session(mock, control, aiohttp_client):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(mock.url) as socket:
            await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
            session_uuid = json.loads((await socket.receive()).data)["data"][0]["connectionSessionUUID"]
            await socket.send_str(json.dumps([{"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}]))
            await socket.receive()
        assert met(coverage(mock), "transports") == {"WebSocket"}
        async with session.ws_connect(mock.url) as socket:
            resume = {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": session_uuid}
            await socket.send_str(json.dumps([resume]))
            assert json.loads((await socket.receive()).data)["data"][0]["connectionSessionUUID"] == session_uuid
    report = coverage(mock)
    assert met(report, "transports") == {"WebSocket", "WebSocket resume"}
    assert {"authentication.apiKey", "authentication.connectionSessionUUID"} <= met(report, "parameters")


def test_each_namespace_has_its_own_and_reset_clears_it(mock, control):
    headers = {"X-Mock-Namespace": "worker-1"}
    request_body = [{**example_task(), "outputFormat": "WEBM", "inputs": {"video": "https://example.com/v.mp4"}}]
    import urllib.request

    request = urllib.request.Request(
        mock.url, json.dumps(request_body).encode(), {"Authorization": "Bearer k", **headers}
    )
    urllib.request.urlopen(request, timeout=10).close()
    assert met(coverage(mock, "worker-1"), "values") == {"outputFormat=WEBM"}
    assert met(coverage(mock, "worker-2"), "values") == set()
    assert met(coverage(mock), "values") == {"outputFormat=WEBM"}  # without the header: every namespace
    assert coverage(mock, "worker-1")["namespace"] == "worker-1"
    MockControl(mock.base_url, namespace="worker-2").reset()
    assert met(coverage(mock), "values") == {"outputFormat=WEBM"}
    MockControl(mock.base_url, namespace="worker-1").reset()
    assert coverage(mock)["met"] == 0


# The denominator comes from the schemas and the catalogue.


def _enum_values(schema: dict[str, Any], path: str = "") -> list[str]:
    found = []
    for name, sub in schema.get("properties", {}).items():
        found += [f"{path}{name}={value}" for value in sub.get("enum", ())]
        found += _enum_values(sub, f"{path}{name}.")
    return found


def test_every_enum_value_of_the_task_schema_is_an_entry():
    values = names(ClientCoverage().report(), "values")
    expected = _enum_values(schemas()["video-inference-task.json"])
    assert len(expected) >= 12 and set(expected) <= set(values)


def test_every_bound_of_the_task_schema_is_a_boundary_but_one_no_valid_value_can_touch():
    boundaries = names(ClientCoverage().report(), "boundaries")
    assert "providerSettings.sync.temperature=0 (minimum)" in boundaries
    assert "numberResults=4 (maximum)" in boundaries
    # audioEndTime must be greater than audioStartTime (x-greaterThan), so it is never at its minimum of 0.
    assert not any(name.startswith("providerSettings.sync.segments[].audioEndTime=") for name in boundaries)


def test_a_parameter_added_to_a_schema_appears_by_itself(monkeypatch):
    from mock_server import coverage as module

    changed = json.loads(json.dumps(schemas()))
    sync = changed["video-inference-task.json"]["properties"]["providerSettings"]["properties"]["sync"]
    sync["properties"]["lipStrength"] = {"type": "string", "enum": ["soft", "firm"]}
    monkeypatch.setattr(module, "schemas", lambda: changed)
    module.contract.cache_clear()
    try:
        report = ClientCoverage().report()
    finally:
        module.contract.cache_clear()
    assert "providerSettings.sync.lipStrength" in names(report, "parameters")
    assert "providerSettings.sync.lipStrength=firm" in names(report, "values")
    assert "unsupportedLipStrength" in names(report, "errors")


def test_the_error_catalogue_is_in_the_denominator_but_what_tasks_never_receive():
    errors = names(ClientCoverage().report(), "errors")
    for code in ("processingFailed", "conflictTaskUUID", "tooManyTasks", "unsupportedParameter"):
        assert code in errors
    assert "invalidControlToken" not in errors and "unknownHost" not in errors
    # One of the two credit codes answers, by --compat: only that one is counted.
    assert "videoInferenceInsufficientCredits" in errors and "insufficientCredits" not in errors
    from mock_server.config import Compat

    other = names(ClientCoverage(Compat(insufficient_credits_code="insufficientCredits")).report(), "errors")
    assert "insufficientCredits" in other and "videoInferenceInsufficientCredits" not in other
    counted = set(errors) & set(exceptions.CATALOGUE)
    assert len(counted) >= 20


def test_every_fault_kind_is_an_entry():
    assert names(ClientCoverage().report(), "faults") == list(FAULT_KINDS)


def test_a_request_fault_met_and_the_code_it_answered(mock, control):
    control.add_fault("rate_limit; retry_after=0", times=1)
    status, body = post(mock.url, [with_inline_media(example_task())])
    assert status == 429 and body["errors"][0]["code"] == "rateLimitExceeded"
    report = coverage(mock)
    assert met(report, "faults") == {"rate_limit"}
    assert met(report, "errors") == {"rateLimitExceeded"}
    assert "serverError" in names(report, "errors")  # what a status fault answers, never met here


def test_the_media_parameters_are_parameters_of_the_schemas():
    assert set(MEDIA_PARAMETERS) <= set(names(ClientCoverage().report(), "parameters"))


@pytest.mark.parametrize(
    ("reference", "form"),
    [
        ("https://example.com/a.mp4", "URL"),
        ("http://127.0.0.1/a.wav", "URL"),
        ("3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f", "mediaUUID"),
        ("data:video/mp4;base64,AAAA", "data URI"),
        ("AAAAIGZ0eXBpc29t", "base64"),
    ],
)
def test_media_forms(reference, form):
    assert media_form(reference) == form


def test_the_state_is_bounded_in_namespaces_and_entries():
    coverage = ClientCoverage()
    task = {**example_task(), "outputFormat": "MOV"}
    for number in range(MAX_NAMESPACES + 10):
        coverage.sent(f"ns-{number}", task)
        coverage.answered(f"ns-{number}", {"errors": [{"code": f"madeUp{number}"}]})
    report = coverage.report()
    assert report["total"] == ClientCoverage().report()["total"]  # a code outside the contract adds nothing
    assert coverage.report("ns-0")["met"] == 0  # the oldest namespaces were dropped
    assert "outputFormat=MOV" in met(coverage.report(f"ns-{MAX_NAMESPACES + 9}"), "values")
