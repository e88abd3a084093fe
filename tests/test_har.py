"""GET /__mock/journal.har: the journal as HAR 1.2, valid by the HAR JSON Schemas (npm `har-schema` 2.0.0, kept in
tests/data/har-schema/ as published: `scripts/ci-har` checks the copy against the registry's package), with the
journal's selection and its redaction."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT6

from contract_tests.payloads import example_task, with_inline_media
from mock_server.testing import MockControl
from tests.test_pytest_plugin import post

HAR_SCHEMAS = Path(__file__).parent / "data" / "har-schema"
BASE = "https://har-schema.invalid/"


def har_validator() -> Draft6Validator:
    """The package's schemas, each under its file name (their `$id`s are relative: `log.json#`)."""
    resources = []
    for path in sorted(HAR_SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text())
        schema["$id"] = BASE + path.name
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT6)))
    registry = Registry().with_resources(resources)
    return Draft6Validator({"$ref": BASE + "har.json"}, registry=registry, format_checker=FormatChecker())


def assert_valid_har(document: dict[str, Any]) -> None:
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in har_validator().iter_errors(document)]
    assert errors == []


@pytest.fixture
def control(mock):
    """The control API, the mock reset: each test reads the archive of its own requests."""
    mock.wait_idle()
    control = MockControl(mock.base_url)
    control.reset()
    return control


def har(mock, query: str = "", namespace: str | None = None) -> dict[str, Any]:
    headers = {} if namespace is None else {"X-Mock-Namespace": namespace}
    request = urllib.request.Request(f"{mock.base_url}/__mock/journal.har{query}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        assert "lipsync-mock.har" in response.headers["Content-Disposition"]
        return json.load(response)


def test_the_validator_refuses_what_is_not_har():
    with pytest.raises(AssertionError):
        assert_valid_har({"log": {"version": "1.2", "entries": [{"request": {}}]}})


def test_an_empty_journal_is_a_valid_archive(mock, control):
    document = har(mock)
    assert_valid_har(document)
    assert document["log"]["version"] == "1.2" and document["log"]["entries"] == []
    assert document["log"]["creator"]["name"] == "lipsync-mock"


def test_the_journal_as_har_valid_with_each_exchange(mock, control):
    task = with_inline_media(example_task())
    assert post(mock.url, [task])[0] == 200
    assert post(mock.url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])[0] == 200
    assert post(mock.url, [{**example_task(), "outputFormat": "GIF"}])[0] == 400
    control.add_fault("drop", task_type="getResponse", times=1)
    with pytest.raises(OSError):
        post(mock.url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    document = har(mock)
    assert_valid_har(document)
    entries = document["log"]["entries"]
    assert [entry["response"]["status"] for entry in entries] == [200, 200, 400, 0]
    first = entries[0]
    assert first["request"]["method"] == "POST" and first["request"]["url"] == f"{mock.base_url}/v1"
    assert json.loads(first["request"]["postData"]["text"]) == [task]
    assert json.loads(entries[1]["response"]["content"]["text"])["data"][0]["status"] == "success"
    assert entries[2]["response"]["statusText"] == "Bad Request"
    assert entries[3]["response"]["content"]["text"] == "" and "without an answer" in entries[3]["comment"]
    journal = MockControl(mock.base_url).requests()
    assert [entry["_journalId"] for entry in entries] == [entry["id"] for entry in journal]


def test_an_entrys_time_is_how_long_its_answer_took_injected_latency_included(mock, control):
    control.add_fault("latency=300", task_type="getResponse", times=1)
    post(mock.url, [{"taskType": "getResponse", "taskUUID": "00000000-0000-4000-8000-000000000000"}])  # unknown: 400
    post(mock.url, [{"taskType": "getResponse", "taskUUID": "00000000-0000-4000-8000-000000000001"}])
    delayed, prompt = har(mock)["log"]["entries"]
    assert delayed["time"] >= 300 and delayed["timings"]["wait"] == delayed["time"]
    assert 0 < prompt["time"] < 300
    journal = MockControl(mock.base_url).requests()
    assert [entry["seconds"] * 1000 for entry in journal] == pytest.approx([delayed["time"], prompt["time"]], abs=0.001)
    # startedDateTime is when a request came, not when it was answered: the delayed one ended before the next came
    started = [datetime.fromisoformat(entry["startedDateTime"]).timestamp() for entry in (delayed, prompt)]
    assert started[0] + delayed["time"] / 1000 <= started[1] + 0.002


def test_keys_are_redacted_as_in_the_journal(mock, control):
    authentication = {"taskType": "authentication", "apiKey": "secret-key-123"}
    post(mock.url, [authentication, {"taskType": "getResponse", "taskUUID": example_task()["taskUUID"]}])
    text = json.dumps(har(mock))
    assert "secret-key-123" not in text and "[redacted]" in text
    assert "Bearer" not in text  # the Authorization header is never kept


def test_the_same_selection_as_the_journal(mock, control):
    task = example_task()
    post(mock.url, [task])
    post(mock.url, [example_task()])
    selected = har(mock, f"?taskUUID={task['taskUUID']}")["log"]["entries"]
    assert [json.loads(entry["request"]["postData"]["text"])[0]["taskUUID"] for entry in selected] == [task["taskUUID"]]
    assert len(har(mock, "?limit=1")["log"]["entries"]) == 1
    request = urllib.request.Request(
        mock.url, json.dumps([example_task()]).encode(), {"Authorization": "Bearer k", "X-Mock-Namespace": "w1"}
    )
    urllib.request.urlopen(request, timeout=10).close()
    in_w1 = har(mock, namespace="w1")["log"]["entries"]
    assert [entry["_namespace"] for entry in in_w1] == ["w1"]
    assert len(har(mock)["log"]["entries"]) == 3
    assert_valid_har(har(mock, namespace="w1"))


def test_a_bad_selection_is_refused_as_the_journal_refuses_it(mock, control):
    with pytest.raises(urllib.error.HTTPError) as refused:
        har(mock, "?limit=0")
    assert refused.value.code == 400 and json.load(refused.value)["errors"][0]["parameter"] == "limit"
