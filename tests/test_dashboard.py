"""The dashboard's server side: the page and its files, the read endpoints it polls, what becomes of each
request (`overview.request_outcome`), and the sample media. The page in a browser:
tests/e2e/test_dashboard_browser.py."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.config import Settings
from mock_server.http import dashboard
from mock_server.journal import JournalEntry
from mock_server.lifecycle import LifecycleMode
from mock_server.overview import request_outcome
from mock_server.testing import BackgroundServer, MockControl

STATIC = Path(dashboard.__file__).parent / "static"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def post(url: str, tasks: object, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, json.dumps(tasks).encode(), {"Authorization": "Bearer k", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def control(mock):
    control = MockControl(mock.base_url)
    control.reset()
    return control


def test_the_page_and_its_files_are_served_by_the_mock_with_a_strict_policy(mock):
    status, headers, body = get(f"{mock.base_url}/__mock/ui")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    page = body.decode()
    # Everything the page loads is the mock's own: no CDN, no other origin.
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all(path.startswith("/__mock/ui/") for path in loaded)
    for path in loaded:
        assert get(mock.base_url + path)[0] == 200


def test_the_page_offers_the_lifecycle_modes_the_mock_names_and_names_none_itself(mock):
    page = get(f"{mock.base_url}/__mock/ui")[2].decode()
    (selector,) = re.findall(r'<select id="lifecycle-mode">(.*?)</select>', page)
    assert re.findall(r"<option>([^<]*)</option>", selector) == [str(mode) for mode in LifecycleMode]
    script, template = (STATIC / "dashboard.js").read_text(), (STATIC / "dashboard.html").read_text()
    for mode in LifecycleMode:
        assert f'"{mode}"' not in script and f"<option>{mode}</option>" not in template
    assert get(f"{mock.base_url}/__mock/ui/dashboard.html")[2].decode() == page  # the same page by its name


def test_the_page_never_writes_html_from_data():
    script = (STATIC / "dashboard.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


@pytest.mark.parametrize("name", ["../dashboard.py", "..%2Fdashboard.py", ".hidden.js", "missing.js", "x.py"])
def test_only_the_named_files_are_served(mock, name):
    assert get(f"{mock.base_url}/__mock/ui/{name}")[0] == 404
    assert get(f"{mock.base_url}/__mock/media/{name}")[0] == 404


def test_the_sample_media_is_served_from_the_package(mock):
    assert dashboard.sample_media_names() == ["speaker.mp4", "voice-0.5s.wav", "voice-2.5s.wav", "voice.wav"]
    status, headers, body = get(f"{mock.base_url}/__mock/media/speaker.mp4")
    assert status == 200 and headers["Content-Type"] == "video/mp4" and body[4:8] == b"ftyp"


def test_the_task_list_is_newest_first_with_results_inputs_cost_and_timeline(mock, control):
    older, newer = with_inline_media(example_task()), with_inline_media(example_task())
    newer["includeCost"] = True
    newer["inputs"]["video"] = f"{mock.base_url}/__mock/media/speaker.mp4"
    for task in (older, newer):
        assert post(mock.url, [task]) == 200
    assert post(mock.url, [{"taskType": "getResponse", "taskUUID": newer["taskUUID"]}]) == 200
    listed = json.loads(get(f"{mock.base_url}/__mock/tasks")[2])
    assert [task["taskUUID"] for task in listed] == [newer["taskUUID"], older["taskUUID"]]
    task = listed[0]
    assert task["status"] == "success" and task["progress"] == 1.0
    assert (task["syncMode"], task["numberResults"], task["cost"]) == ("bounce", 1, 0.044)
    assert task["inputs"][0] == {
        "parameter": "inputs.video",
        "kind": "url",
        "href": newer["inputs"]["video"],
        "text": newer["inputs"]["video"],
    }
    assert task["inputs"][1]["kind"] == "inline" and task["inputs"][1]["href"] is None
    assert [event["event"] for event in task["timeline"]] == ["submitted", "ready", "poll"]
    (result,) = task["results"]
    assert result["served"] and get(mock.base_url + result["videoPath"])[0] == 200
    assert len(json.loads(get(f"{mock.base_url}/__mock/tasks?limit=1")[2])) == 1


def test_a_task_waiting_for_completion_and_a_failed_task(mock, control):
    control.set_lifecycle("manual")
    waiting = with_inline_media(example_task())
    failing = {**example_task(), "inputs": {"video": "0b7e3c1a-4d2f-4a8b-9c6d-5e4f3a2b1c0d", "audio": "x"}}
    for task in (waiting, failing):
        assert post(mock.url, [task]) == 200
    mock.wait_idle()
    by_uuid = {task["taskUUID"]: task for task in json.loads(get(f"{mock.base_url}/__mock/tasks")[2])}
    assert by_uuid[waiting["taskUUID"]]["status"] == "processing"
    assert by_uuid[waiting["taskUUID"]]["progress"] is None  # no ready time is known until it is completed
    assert by_uuid[waiting["taskUUID"]]["lifecycle"]["mode"] == "manual"
    failed = by_uuid[failing["taskUUID"]]
    assert failed["status"] == "error"
    assert (failed["error"]["code"], failed["error"]["parameter"]) == ("mediaNotFound", "inputs.video")
    assert failed["inputs"][0]["href"] == "/media/0b7e3c1a-4d2f-4a8b-9c6d-5e4f3a2b1c0d"


def test_each_request_has_an_outcome_and_can_be_filtered_by_it(mock, control):
    task = with_inline_media(example_task())
    assert post(mock.url, [task]) == 200
    assert post(mock.url, [{"taskType": "nope"}]) == 400
    assert post(mock.url, [task], {"X-Mock-Fault": "status=503"}) == 503
    outcomes = [entry["outcome"] for entry in control.requests()]
    assert outcomes == ["ok", "refused", "fault"]
    refused = json.loads(get(f"{mock.base_url}/__mock/requests?outcome=refused")[2])
    assert [entry["request"] for entry in refused] == [[{"taskType": "nope"}]]
    assert len(json.loads(get(f"{mock.base_url}/__mock/requests?limit=2")[2])) == 2
    assert get(f"{mock.base_url}/__mock/requests?outcome=odd")[0] == 400
    assert get(f"{mock.base_url}/__mock/requests?limit=0")[0] == 400


@pytest.mark.parametrize(
    ("status", "response", "outcome"),
    [
        (200, {"data": []}, "ok"),
        (0, None, "fault"),
        (429, {"errors": [{"code": "rateLimitExceeded"}]}, "fault"),
        (400, {"errors": [{"code": "processingFailed", "status": "error"}]}, "failed"),
        (200, {"data": [{}], "errors": [{"code": "invalidTemperature"}]}, "refused"),
        (401, {"errors": [{"code": "missingApiKey"}]}, "refused"),
    ],
)
def test_request_outcomes(status, response, outcome):
    assert request_outcome(JournalEntry(0.0, b"[]", status, json.dumps(response))) == outcome


def test_the_processing_rate_can_be_read(mock, control):
    control.set_processing_rate(0.25)
    assert json.loads(get(f"{mock.base_url}/__mock/processing-rate")[2]) == {"rate": 0.25}
    control.set_processing_rate(0.0)


def test_with_a_token_the_page_loads_but_its_data_needs_the_token():
    with BackgroundServer(Settings(control_token="t0ken")) as mock:
        assert get(f"{mock.base_url}/__mock/ui")[0] == 200
        assert get(f"{mock.base_url}/__mock/media/voice.wav")[0] == 200  # the mock fetches it without a token
        assert get(f"{mock.base_url}/__mock/tasks")[0] == 401
        assert get(f"{mock.base_url}/__mock/tasks", {"X-Mock-Control-Token": "t0ken"})[0] == 200


def test_without_the_control_api_there_is_no_dashboard():
    with BackgroundServer(Settings(control=False)) as mock:
        for path in ("/__mock/ui", "/__mock/ui/dashboard.js", "/__mock/tasks", "/__mock/media/speaker.mp4"):
            assert get(mock.base_url + path)[0] == 404
