"""Each fault, and each delivery path, as a client sees it."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from urllib.parse import urlsplit

import pytest

from contract_tests.client import ApiClient
from contract_tests.payloads import example_task, with_inline_media
from contract_tests.targets import MediaServer, MediaSet
from mock_server.config import Settings
from mock_server.testing import BackgroundServer, MockControl
from tests.receiver import Receiver

FAST = Settings(processing_rate=0.05, delivery_first_delay=0.05, seed=7)


@pytest.fixture
def mock():
    with BackgroundServer(FAST) as server:
        yield server


@pytest.fixture
def api(mock):
    client = ApiClient(mock.url, "key")
    yield client
    client.close()


def raw_post(url: str, tasks, fault: str | None = None, timeout: float = 10):
    """(status, headers, body) of a POST, or the exception the connection ended with."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    headers = {"Authorization": "Bearer key", "Content-Type": "application/json"}
    if fault:
        headers["X-Mock-Fault"] = fault
    try:
        connection.request("POST", parts.path, json.dumps(tasks), headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"{}")
    except (http.client.RemoteDisconnected, ConnectionResetError) as ended:
        return ended
    finally:
        connection.close()


def media_task(**parameters):
    return with_inline_media({**example_task(), **parameters})


def test_latency_delays_the_answer(mock):
    started = time.monotonic()
    status, _, _ = raw_post(mock.url, [media_task()], "latency=300")
    assert status == 200 and time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_answers_without_running_the_tasks(mock, api, status):
    task = media_task()
    answer, _, body = raw_post(mock.url, [task], f"status={status}")
    assert answer == status and body["errors"][0]["code"] == "serverError"
    assert api.poll(task["taskUUID"]).body == {"data": []}


def test_rate_limit_answers_429_with_retry_after(mock):
    task = media_task()
    status, headers, body = raw_post(mock.url, [task], "rate_limit; retry_after=2")
    assert (status, headers["Retry-After"], body["errors"][0]["code"]) == (429, "2", "rateLimitExceeded")
    (entry,) = MockControl(mock.base_url).requests(task["taskUUID"])
    assert (entry["status"], entry["response"]) == (429, body)


def test_drop_ends_the_connection_without_an_answer(mock):
    task = media_task()
    assert isinstance(raw_post(mock.url, [task], "drop"), http.client.RemoteDisconnected | ConnectionResetError)
    (entry,) = MockControl(mock.base_url).requests(task["taskUUID"])
    assert (entry["status"], entry["response"]) == (0, None)


def test_hang_holds_the_request_then_drops_it(mock):
    started = time.monotonic()
    ended = raw_post(mock.url, [media_task()], "hang=0.5")
    assert isinstance(ended, http.client.RemoteDisconnected | ConnectionResetError)
    assert time.monotonic() - started >= 0.5


def test_a_client_timeout_fires_on_a_long_hang(mock):
    with pytest.raises(TimeoutError):
        parts = urlsplit(mock.url)
        connection = http.client.HTTPConnection(parts.netloc, timeout=0.3)
        connection.request("POST", parts.path, json.dumps([media_task()]), {"X-Mock-Fault": "hang=1"})
        connection.getresponse()


def test_a_task_fails_after_the_polls_asked_for(mock, api):
    task = media_task()
    assert raw_post(mock.url, [task], "fail_after_polls=2; code=timeoutProvider")[0] == 200
    first = api.poll(task["taskUUID"])
    assert first.data and not first.errors
    (error,) = api.poll(task["taskUUID"]).errors
    assert (error["code"], error["taskUUID"], error["status"]) == ("timeoutProvider", task["taskUUID"], "error")


def test_a_rule_set_through_the_control_api_applies_the_times_asked(mock, api):
    control = MockControl(mock.base_url)
    task = media_task()
    api.submit(task)
    control.add_fault("status=502", task_type="getResponse", times=1)
    assert raw_post(mock.url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])[0] == 502
    assert raw_post(mock.url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])[0] == 200
    assert control.faults() == []


def test_a_rule_can_target_one_task(mock, api):
    control = MockControl(mock.base_url)
    target, other = media_task(), media_task()
    control.add_fault("fail_after_polls=1; code=processingFailed", task_uuid=target["taskUUID"])
    api.post([target, other])
    assert api.poll(target["taskUUID"]).errors[0]["code"] == "processingFailed"
    assert not api.poll(other["taskUUID"]).errors


def test_a_malformed_fault_header_is_refused(mock):
    status, _, body = raw_post(mock.url, [media_task()], "explode=1")
    assert status == 400 and body["errors"][0]["parameter"] == "X-Mock-Fault"


def test_chaos_with_a_seed_repeats_the_same_faults():
    def outcomes():
        with BackgroundServer(Settings(processing_rate=0, chaos=0.6, seed=11)) as chaotic:
            results = []
            for _ in range(12):
                answer = raw_post(chaotic.url, [{"taskType": "getResponse", "taskUUID": example_task()["taskUUID"]}])
                results.append(answer[0] if isinstance(answer, tuple) else type(answer).__name__)
            return results

    first, second = outcomes(), outcomes()
    assert first == second
    assert any(o in (429, 500, 502, 503) or isinstance(o, str) for o in first) and 200 in first


def test_webhooks_carry_each_result_as_a_poll_shows_it(mock, api):
    with Receiver() as receiver:
        task = media_task(numberResults=2, webhookURL=receiver.url("/hook?token=abc"))
        api.submit(task)
        received = receiver.wait_for(2)
        results = api.wait_for_results(task["taskUUID"], 2)
    assert [(r.method, r.path, r.content_type) for r in received] == [
        ("POST", "/hook?token=abc", "application/json")
    ] * 2
    assert sorted(json.loads(r.body)["data"][0]["videoUUID"] for r in received) == sorted(
        r["videoUUID"] for r in results
    )
    assert [json.loads(r.body)["data"][0] for r in received] == results


def test_a_failed_task_is_delivered_as_its_errors(mock, api):
    with Receiver() as receiver:
        task = {**example_task(), "webhookURL": receiver.url("/hook")}
        task["inputs"]["video"] = "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"
        api.submit(task)
        (received,) = receiver.wait_for(1)
    (error,) = json.loads(received.body)["errors"]
    assert (error["code"], error["taskUUID"]) == ("mediaNotFound", task["taskUUID"])


def test_failed_deliveries_are_retried_with_backoff_and_journaled(mock, api):
    with Receiver(fail_first=2) as receiver:
        task = media_task(webhookURL=receiver.url("/hook"))
        api.submit(task)
        received = receiver.wait_for(3)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(received)]
    # The waits double: at least the first delay, then at least twice it.
    assert len(received) == 3 and gaps[0] >= FAST.delivery_first_delay and gaps[1] >= 2 * FAST.delivery_first_delay
    journal = MockControl(mock.base_url).deliveries(task["taskUUID"])
    assert [(a["attempt"], a["status"]) for a in journal] == [(1, 500), (2, 500), (3, 200)]


def test_an_unreachable_webhook_is_tried_a_bounded_number_of_times(mock, api):
    task = media_task(webhookURL="http://127.0.0.1:9/closed")
    api.submit(task)
    control = MockControl(mock.base_url)
    deadline = time.monotonic() + 10
    while len(control.deliveries(task["taskUUID"])) < FAST.delivery_attempts and time.monotonic() < deadline:
        time.sleep(0.05)
    mock.wait_idle()  # the delivery has ended: no attempt comes after these
    attempts = control.deliveries(task["taskUUID"])
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["status"] is None and a["error"] for a in attempts)


def test_the_result_file_is_put_to_the_upload_endpoint(mock, api):
    with Receiver() as receiver:
        task = media_task(outputFormat="WEBM", uploadEndpoint=receiver.url("/bucket/out.webm?X-Amz-Signature=s"))
        api.submit(task)
        (received,) = receiver.wait_for(1)
        (result,) = api.wait_for_results(task["taskUUID"], 1)
    assert (received.method, received.path, received.content_type) == (
        "PUT",
        "/bucket/out.webm?X-Amz-Signature=s",
        "video/webm",
    )
    assert received.body == api.download(result["videoURL"])[2]


def test_webhook_faults_duplicate_delay_and_reorder(mock, api):
    with Receiver() as receiver:
        duplicated = media_task(webhookURL=receiver.url("/dup"))
        raw_post(mock.url, [duplicated], "webhook_duplicate")
        assert len([r for r in receiver.wait_for(2) if r.path == "/dup"]) == 2

        # Two tasks at once, one with its webhooks held back 800 ms: it arrives well after its twin.
        prompt, delayed = media_task(webhookURL=receiver.url("/prompt")), media_task(webhookURL=receiver.url("/late"))
        raw_post(mock.url, [prompt])
        raw_post(mock.url, [delayed], "webhook_delay=800")
        arrived = {r.path: r.at for r in receiver.wait_for(4)}
        assert arrived["/late"] - arrived["/prompt"] >= 0.5

        reordered = media_task(numberResults=3, webhookURL=receiver.url("/reorder"))
        raw_post(mock.url, [reordered], "webhook_reorder")
        results = api.wait_for_results(reordered["taskUUID"], 3)
        arrived = [r for r in receiver.wait_for(7) if r.path == "/reorder"]
    assert [json.loads(r.body)["data"][0]["videoUUID"] for r in arrived] == [r["videoUUID"] for r in reversed(results)]


def test_the_nsfw_trigger_reports_nsfw_content():
    with MediaServer() as files, BackgroundServer(Settings(processing_rate=0)) as mock:
        media = MediaSet.under(files.base_url)
        api = ApiClient(mock.url, "key")
        flagged = {**example_task(), "safety": {"checkContent": True}}
        flagged["inputs"] = {"video": media.video + "?nsfw=1", "audio": media.audio}
        clean = {
            **flagged,
            "taskUUID": example_task()["taskUUID"],
            "inputs": {"video": media.video, "audio": media.audio},
        }
        api.post([flagged, clean])
        assert api.wait_for_results(flagged["taskUUID"], 1)[0]["NSFWContent"] is True
        assert api.wait_for_results(clean["taskUUID"], 1)[0]["NSFWContent"] is False
        api.close()
