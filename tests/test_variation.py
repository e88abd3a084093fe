"""--vary-responses: answers varied within the contract, reproducibly; a robust client survives, a brittle one
does not."""

from __future__ import annotations

import json
import random
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests import strategies
from contract_tests.payloads import example_task, with_inline_media
from mock_server.config import Settings
from mock_server.schema_registry import validator
from mock_server.testing import BackgroundServer
from mock_server.variation import ResponseVariation, vary_progress

RESPONSE = validator("response-body.json")
HEADERS = {"Authorization": "Bearer k"}


@given(strategies.varied(strategies.result_sequences().flatmap(st.sampled_from)))
def test_varied_poll_bodies_stay_within_the_contract(body):
    assert RESPONSE.is_valid(body), body


@given(strategies.varied(strategies.error_bodies()))
def test_varied_error_bodies_stay_within_the_contract(body):
    assert RESPONSE.is_valid(body), body


def test_a_done_result_is_held_back_at_most_once_and_never_after_it_was_shown():
    done = {"taskType": "videoInference", "taskUUID": "t", "status": "success", "videoUUID": "v"}
    held = 0
    for seed in range(40):
        variation = ResponseVariation(seed)
        first, second = variation.poll_items([done])[0], variation.poll_items([done])[0]
        assert second["status"] == "success"
        held += first["status"] == "processing"
    assert 5 < held < 35  # sometimes, not always


def test_progress_leaps_or_is_left_out():
    rng = random.Random(3)
    seen = [vary_progress({"status": "processing", "progress": 10}, rng).get("progress") for _ in range(200)]
    assert None in seen and len({p for p in seen if p is not None}) > 20
    assert all(p is None or 0 <= p <= 99 for p in seen)


def post(url: str, tasks) -> dict:
    request = urllib.request.Request(url, json.dumps(tasks).encode(), HEADERS)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def run_robust_client(url: str, task: dict) -> list[dict]:
    """A client as the platform asks for: polls until every result is a success, keyed by videoUUID."""
    post(url, [task])
    done: dict[str, dict] = {}
    for _ in range(50):
        for item in post(url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])["data"]:
            if item["status"] == "success":
                done[item["videoUUID"]] = item
        if len(done) == task.get("numberResults", 1):
            return list(done.values())
    raise AssertionError("never finished")


def run_brittle_client(url: str, task: dict) -> list[str]:
    """A client that trusts the answers' exact shape and order: the first poll after a render is done."""
    post(url, [task])
    items = post(url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])["data"]
    for item in items:
        assert set(item) == {"taskType", "taskUUID", "status", "videoUUID", "videoURL", "seed"}, item
    return [item["videoUUID"] for item in items]


def test_the_mock_varies_its_answers_reproducibly_and_within_the_contract():
    def journal(seed: int) -> list[str]:
        task = {**with_inline_media(example_task()), "taskUUID": "5f0c8e52-8d7b-4c0e-9a39-7d2c1f3b6a11"}
        with BackgroundServer(Settings(processing_rate=0, seed=1, vary_responses=seed)) as mock:
            run_robust_client(mock.url, {**task, "numberResults": 3})
            entries = mock.dispatcher.journal.entries()
            base = mock.base_url
        for entry in entries:
            assert RESPONSE.is_valid(json.loads(entry.response)), entry.response
        return [entry.response.replace(base, "BASE") for entry in entries]  # the port differs

    first = journal(7)
    assert first == journal(7)
    assert first != journal(8)
    assert any('"x' in response for response in first)  # fields the schemas do not name


def test_a_robust_client_survives_and_a_brittle_one_breaks():
    broke = 0
    for seed in range(5):
        with BackgroundServer(Settings(processing_rate=0, vary_responses=seed)) as mock:
            results = run_robust_client(mock.url, {**with_inline_media(example_task()), "numberResults": 2})
            assert len(results) == 2
            try:
                run_brittle_client(mock.url, {**with_inline_media(example_task()), "numberResults": 2})
            except (AssertionError, KeyError):
                broke += 1
    assert broke >= 3
    with BackgroundServer(Settings(processing_rate=0)) as steady:  # the same brittle client, steady answers
        assert len(run_brittle_client(steady.url, {**with_inline_media(example_task()), "numberResults": 2})) == 2


@pytest.mark.sdks
@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_the_official_sdk_survives_varied_answers(transport):
    from contract_tests.targets import MediaServer, MediaSet
    from tests.e2e.test_sdks import run_example, sdk_python

    python = sdk_python("runware-sdk")
    with MediaServer() as files, BackgroundServer(Settings(processing_rate=0.05, vary_responses=11)) as mock:
        media = MediaSet.under(files.base_url)
        flags = ["--url", mock.base_url, "--transport", transport, "--video", media.video, "--audio", media.audio]
        results = run_example(python, "runware_sdk.py", *flags)
    assert len(results) == 2 and all(result["status"] == "success" for result in results)
