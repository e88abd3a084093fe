"""The async flow end to end: submit, acknowledgment, polls, results, result files."""

from __future__ import annotations

import io
import uuid

import av
import pytest

from contract_tests.payloads import example_task, with_parameter
from mock_server.media import probe

# What each outputFormat must come back as: (container brand, video codecs, audio codecs).
EXPECTED_FILES = {
    "MP4": ({"isom", "mp42", "mp41", "avc1"}, {"h264"}, {"aac"}),
    "WEBM": ({None}, {"vp8", "vp9"}, {"opus", "vorbis"}),
    "MOV": ({"qt  "}, {"h264"}, {"aac"}),
}


@pytest.mark.parametrize("output_format", sorted(EXPECTED_FILES))
async def test_a_task_runs_to_a_playable_file_of_the_requested_format(api, output_format):
    task = with_parameter(example_task(), "outputFormat", output_format)
    ack = await api.submit(task)
    assert ack.body == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}

    (result,) = await api.wait_for_results(task["taskUUID"], 1)
    assert result["taskType"] == "videoInference"
    assert result["taskUUID"] == task["taskUUID"]
    assert uuid.UUID(result["videoUUID"]).version == 4
    async with api.session.get(result["videoURL"]) as response:
        assert response.status == 200
        content_type = response.content_type
        data = await response.read()
    info = probe(data)
    brands, video_codecs, audio_codecs = EXPECTED_FILES[output_format]
    assert content_type.startswith("video/")
    assert info.brand in brands and info.video_codec in video_codecs and info.audio_codec in audio_codecs, info
    assert info.duration > 0
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0


async def test_each_result_has_its_own_video_and_seed(api):
    task = with_parameter(example_task(), "numberResults", 4)
    await api.submit(task)
    results = await api.wait_for_results(task["taskUUID"], 4)
    assert len(results) == 4
    assert len({item["videoUUID"] for item in results}) == 4
    assert len({item["videoURL"] for item in results}) == 4
    assert all(isinstance(item["seed"], int) for item in results)
    assert len({item["seed"] for item in results}) == 4


async def test_cost_is_reported_only_when_asked_for(api):
    plain, costed = example_task(), with_parameter(example_task(), "includeCost", True)
    for task in (plain, costed):
        await api.submit(task)
    (without,) = await api.wait_for_results(plain["taskUUID"], 1)
    (with_cost,) = await api.wait_for_results(costed["taskUUID"], 1)
    assert "cost" not in without
    assert isinstance(with_cost["cost"], float) and with_cost["cost"] > 0


async def test_content_check_is_reported_only_when_it_ran(api):
    plain, checked = example_task(), with_parameter(example_task(), "safety.checkContent", True)
    for task in (plain, checked):
        await api.submit(task)
    (unchecked_result,) = await api.wait_for_results(plain["taskUUID"], 1)
    (checked_result,) = await api.wait_for_results(checked["taskUUID"], 1)
    assert "NSFWContent" not in unchecked_result
    assert checked_result["NSFWContent"] is False


async def test_a_batch_runs_its_valid_tasks_and_reports_the_invalid_ones(api):
    good, bad = example_task(), with_parameter(example_task(), "outputQuality", 100)
    answer = await api.post([good, bad])
    assert answer.status == 200
    assert answer.data == [{"taskType": "videoInference", "taskUUID": good["taskUUID"]}]
    (error,) = answer.errors
    assert (error["code"], error["parameter"], error["taskUUID"]) == (
        "invalidOutputQuality",
        "outputQuality",
        bad["taskUUID"],
    )
    assert (await api.wait_for_results(good["taskUUID"], 1))[0]["taskUUID"] == good["taskUUID"]
    assert (await api.poll(bad["taskUUID"])).errors[0]["code"] == "taskNotFound"


async def test_a_batch_of_submissions_and_polls(api):
    first, second = example_task(), example_task()
    answer = await api.post([first, second])
    assert [item["taskUUID"] for item in answer.data] == [first["taskUUID"], second["taskUUID"]]
    await api.wait_for_results(first["taskUUID"], 1)
    polls = await api.post([{"taskType": "getResponse", "taskUUID": t["taskUUID"]} for t in (first, second)])
    assert [item["taskUUID"] for item in polls.data] == [first["taskUUID"], second["taskUUID"]]


async def test_a_task_uuid_cannot_be_used_twice(api):
    task = example_task()
    assert (await api.submit(task)).status == 200
    again = await api.submit(task)
    assert again.status == 400
    assert [(e["code"], e["parameter"], e["taskUUID"]) for e in again.errors] == [
        ("duplicateTaskUUID", "taskUUID", task["taskUUID"])
    ]


async def test_a_task_uuid_twice_in_one_batch_runs_once(api):
    task = example_task()
    answer = await api.post([task, task])
    assert answer.data == [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]
    assert [e["code"] for e in answer.errors] == ["duplicateTaskUUID"]


async def test_polling_an_unknown_task_is_an_error(api):
    task_uuid = str(uuid.uuid4())
    answer = await api.poll(task_uuid)
    assert answer.status == 404
    assert [(e["code"], e["parameter"], e["taskUUID"]) for e in answer.errors] == [
        ("taskNotFound", "taskUUID", task_uuid)
    ]


async def test_polling_needs_a_valid_task_uuid(api):
    answer = await api.post([{"taskType": "getResponse", "taskUUID": "nope"}])
    assert answer.status == 400
    assert [(e["code"], e["parameter"]) for e in answer.errors] == [("invalidTaskUUID", "taskUUID")]
    answer = await api.post([{"taskType": "getResponse"}])
    assert [(e["code"], e["parameter"]) for e in answer.errors] == [("missingTaskUUID", "taskUUID")]
