"""The control API, through its client, against a running mock: reset, seed, journals, lifecycle modes."""

from __future__ import annotations

import pytest

from contract_tests.client import ApiClient
from contract_tests.payloads import example_task, with_inline_media
from mock_server.config import Settings
from mock_server.testing import BackgroundServer, ControlError, MockControl
from tests.test_dispatcher import FakeClock


@pytest.fixture
def mock():
    with BackgroundServer(Settings(processing_rate=30.0, seed=1)) as server:  # a 1 s result takes 30 s by rate
        yield server


@pytest.fixture
def clock(mock):
    """The mock's clock, moved by the test: the time every owner reads (the dispatcher's is the runner's)."""
    clock = FakeClock()
    mock.dispatcher.runner.clock = clock
    return clock


@pytest.fixture
def control(mock):
    return MockControl(mock.base_url)


@pytest.fixture
def api(mock):
    client = ApiClient(mock.url, "key")
    yield client
    client.close()


def submit(api, **parameters):
    task = with_inline_media({**example_task(), **parameters})
    assert api.submit(task).status == 200
    return task["taskUUID"]


def statuses(api, task_uuid):
    answer = api.poll(task_uuid)
    return [item["status"] for item in answer.data] or [e["code"] for e in answer.errors]


def settle_render(mock):
    # Lifecycle rules apply once the file is rendered; wait for the render, not for the result.
    mock.wait_idle()


def test_immediate_mode_makes_results_ready_once_rendered(api, control, mock):
    control.set_lifecycle("immediate")
    task_uuid = submit(api)
    settle_render(mock)
    assert statuses(api, task_uuid) == ["success"]


def test_after_mode_waits_the_time_given(api, control, mock, clock):
    control.set_lifecycle("after", seconds=30)
    submitted = clock.now
    task_uuid = submit(api, numberResults=2)
    settle_render(mock)
    clock.now = submitted + 29.99
    assert statuses(api, task_uuid) == ["processing", "processing"]
    clock.now = submitted + 30
    assert statuses(api, task_uuid) == ["success", "success"]


def test_polls_mode_completes_on_the_nth_poll(api, control, mock):
    task_uuid = submit(api)
    control.set_lifecycle("polls", polls=3, task_uuid=task_uuid)
    settle_render(mock)
    assert [statuses(api, task_uuid) for _ in range(3)] == [["processing"], ["processing"], ["success"]]


def test_manual_mode_waits_to_be_told(api, control, mock, clock):
    control.set_lifecycle("manual")
    task_uuid = submit(api)
    settle_render(mock)
    clock.now += 86_400  # a day: time alone completes nothing
    assert statuses(api, task_uuid) == ["processing"]
    control.complete(task_uuid)
    assert statuses(api, task_uuid) == ["success"]


def test_a_task_told_to_complete_before_its_render_completes_when_rendered(api, control, mock):
    control.set_lifecycle("manual")
    task_uuid = submit(api)
    control.complete(task_uuid)
    settle_render(mock)
    assert statuses(api, task_uuid) == ["success"]


def test_the_processing_rate_changes_at_run_time(api, control, mock):
    task_uuid = submit(api)
    settle_render(mock)
    assert statuses(api, task_uuid) == ["processing"]  # due in 30 s
    control.set_processing_rate(0)
    later = submit(api)
    assert statuses(api, later) == ["success"]


def test_reset_forgets_everything(api, control):
    task_uuid = submit(api)
    control.add_fault("latency=10")
    control.reset()
    assert api.poll(task_uuid).body == {"data": []}
    assert control.faults() == []
    assert [entry["request"][0]["taskType"] for entry in control.requests()] == ["getResponse"]


def test_the_seed_makes_generated_values_reproducible(api, control):
    control.set_lifecycle("immediate")
    runs = []
    for _ in range(2):
        control.reset()
        control.set_lifecycle("immediate")
        control.seed(42)
        task_uuid = submit(api, numberResults=2)
        runs.append([(r["videoUUID"], r["seed"]) for r in api.wait_for_results(task_uuid, 2)])
    assert runs[0] == runs[1]


def test_the_request_journal_shows_each_task_and_its_answer(api, control):
    first, second = submit(api), submit(api)
    api.poll(first)
    journal = control.requests(first)
    assert [entry["request"][0]["taskType"] for entry in journal] == ["videoInference", "getResponse"]
    assert journal[0]["response"] == {"data": [{"taskType": "videoInference", "taskUUID": first}]}
    assert journal[0]["status"] == 200 and journal[0]["receivedAt"] > 0
    assert len(control.requests()) == 3 and control.requests(second)[0]["request"][0]["taskUUID"] == second


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda c: c.set_lifecycle("sometimes"), "mode"),
        (lambda c: c.set_processing_rate(-1), "rate"),
        (lambda c: c.add_fault("explode"), "fault"),
        (lambda c: c.add_fault("latency=10", times=0), "times"),
        (lambda c: c.complete("3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"), "taskUUID"),
    ],
)
def test_bad_control_calls_are_refused_naming_the_field(control, call, parameter):
    with pytest.raises(ControlError) as raised:
        call(control)
    assert raised.value.status in (400, 404)
    assert raised.value.body["errors"][0]["parameter"] == parameter
