"""`--compat KEY=VALUE`: where the evidence on the real service is split, either behaviour, through the API."""

from __future__ import annotations

import json
import uuid

import pytest

from contract_tests.payloads import data_uri, example_task, with_inline_media
from mock_server.app import create_app
from mock_server.config import Compat, Settings
from mock_server.testing import BackgroundServer
from tests.receiver import Receiver

HEADERS = {"Authorization": "Bearer key"}
NEVER_SUBMITTED = {"taskType": "getResponse", "taskUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"}


async def post(aiohttp_client, compat: tuple[str, ...], tasks):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, compat=compat)))
    response = await client.post("/v1", json=tasks, headers=HEADERS)
    return response.status, await response.json()


async def test_an_unknown_task_answers_empty_data_by_default_or_not_found_when_asked(aiohttp_client):
    assert await post(aiohttp_client, (), [NEVER_SUBMITTED]) == (200, {"data": []})
    status, body = await post(aiohttp_client, ("unknown-task-poll=not-found",), [NEVER_SUBMITTED])
    assert (status, [e["code"] for e in body["errors"]], body["data"]) == (404, ["taskNotFound"], [])


async def test_a_refusal_carries_empty_data_by_default_or_none_when_asked(aiohttp_client):
    bad = {**example_task(), "outputQuality": 10}
    status, body = await post(aiohttp_client, (), [bad])
    assert status == 400 and body["data"] == [] and body["errors"][0]["code"] == "invalidOutputQuality"
    status, body = await post(aiohttp_client, ("refusal-data=absent",), [bad])
    assert status == 400 and "data" not in body


@pytest.mark.parametrize(("compat", "wrapped"), [((), True), (("webhook-body=bare",), False)])
def test_webhooks_are_wrapped_by_default_or_bare_when_asked(compat, wrapped):
    with Receiver() as receiver, BackgroundServer(Settings(processing_rate=0, compat=compat)) as mock:
        task = {**with_inline_media(example_task()), "webhookURL": receiver.url("/hook")}
        mock_post(mock.url, [task])
        (hook,) = receiver.wait_for(1)
    body = json.loads(hook.body)
    item = body["data"][0] if wrapped else body
    assert (item["taskUUID"], item["status"]) == (task["taskUUID"], "success")
    assert ("data" in body) is wrapped


@pytest.mark.parametrize(("compat", "with_task_type"), [((), False), (("error-task-type=included",), True)])
async def test_errors_carry_no_task_type_by_default_or_one_when_asked(aiohttp_client, compat, with_task_type):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, compat=compat, api_keys=("key",))))
    refused = {**example_task(), "outputQuality": 10}
    unreadable = {**example_task(), "inputs": {"video": "bm90IGEgdmlkZW8=", "audio": "bm90IGF1ZGlv"}}
    for task in (refused, unreadable):
        response = await client.post("/v1", json=[task], headers=HEADERS)
        assert response.status == 200 or task is refused
    poll = [{"taskType": "getResponse", "taskUUID": unreadable["taskUUID"]}]
    failed = await (await client.post("/v1", json=poll, headers=HEADERS)).json()
    refusal = await (await client.post("/v1", json=[refused | {"taskUUID": str(uuid.uuid4())}], headers=HEADERS)).json()
    for error in (failed["errors"][0], refusal["errors"][0]):
        assert ("taskType" in error) is with_task_type and "taskUUID" in error
    wrong_key = await client.post("/v1", json=poll, headers={"Authorization": "Bearer other"})
    assert (await wrong_key.json())["errors"][0]["taskType"] == "authentication"  # kept: SDKs tell a refused key by it


@pytest.mark.parametrize(("compat", "with_task_type"), [((), False), (("error-task-type=included",), True)])
def test_a_failed_tasks_webhook_has_its_errors_as_a_poll_shows_them(compat, with_task_type):
    with Receiver() as receiver, BackgroundServer(Settings(processing_rate=0, compat=compat)) as mock:
        task = {**example_task(), "inputs": {"video": "bm90IGEgdmlkZW8="}, "webhookURL": receiver.url("/hook")}
        mock_post(mock.url, [task])
        (hook,) = receiver.wait_for(1)
    (error,) = json.loads(hook.body)["errors"]
    assert (error["code"], error["taskUUID"], "taskType" in error) == (
        "missingAudio",
        task["taskUUID"],
        with_task_type,
    )


def mock_post(url: str, tasks) -> None:
    import urllib.request

    request = urllib.request.Request(url, json.dumps(tasks).encode(), HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.mark.parametrize("pair", ["unknown-task-poll=maybe", "nonsense=1", "webhook-body"])
def test_a_bad_choice_is_refused(pair):
    with pytest.raises(ValueError, match=r"\S"):
        Compat.from_pairs((pair,))


def list_form(video: str, voice: str) -> dict:
    """The workflow nodes' form: a source for the whole video, and one a segment names by ref."""
    task = example_task()
    task["inputs"] = {"video": video, "audio": [{"source": voice}, {"id": "line", "source": voice}]}
    task["providerSettings"] = {"sync": {"segments": [{"startTime": 0.2, "endTime": 0.6, "ref": "line"}]}}
    return task


async def test_the_list_form_of_audio_is_refused_by_default(aiohttp_client):
    task = list_form(data_uri("speaker.mp4"), data_uri("voice.wav"))
    status, body = await post(aiohttp_client, (), [task])
    assert status == 400
    assert [(e["code"], e["parameter"]) for e in body["errors"]] == [
        ("invalidAudio", "inputs.audio"),
        ("missingAudio", "providerSettings.sync.segments[0].audio"),
        ("unsupportedParameter", "providerSettings.sync.segments[0].ref"),
    ]


async def test_the_list_form_of_audio_is_rendered_as_the_string_form_when_asked(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, compat=("audio-inputs=list",))))
    video, voice = data_uri("speaker.mp4"), data_uri("voice.wav")
    listed = list_form(video, voice)
    written = {**example_task(), "inputs": {"video": video, "audio": voice}}
    written["providerSettings"] = {"sync": {"segments": [{"startTime": 0.2, "endTime": 0.6, "audio": voice}]}}
    files = []
    for task in (listed, written):
        assert (await client.post("/v1", json=[task], headers=HEADERS)).status == 200
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        (item,) = (await (await client.post("/v1", json=poll, headers=HEADERS)).json())["data"]
        files.append(await (await client.get(item["videoURL"].split(str(client.server.port), 1)[1])).read())
    assert files[0] == files[1]


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        (lambda t: t["providerSettings"]["sync"]["segments"][0].update(ref="nobody"), "segments[0].ref"),
        (lambda t: t["providerSettings"]["sync"]["segments"][0].update(audio="x"), "segments[0].ref"),
        (lambda t: t["inputs"]["audio"].append({"source": "x"}), "inputs.audio"),
        (lambda t: t["inputs"]["audio"].append({"id": "line", "source": "x"}), "inputs.audio"),
        (lambda t: t["inputs"]["audio"].append({"id": "x"}), "inputs.audio[2].source"),
    ],
)
async def test_a_list_form_that_does_not_add_up_is_refused_naming_the_part(aiohttp_client, change, parameter):
    task = list_form("v", "a")
    change(task)
    status, body = await post(aiohttp_client, ("audio-inputs=list",), [task])
    assert status == 400
    assert [e["parameter"].endswith(parameter) for e in body["errors"]] == [True]
