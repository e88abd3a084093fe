"""Results built from the inputs: their length follows syncMode, uploads can stand for inputs, bad media fails."""

from __future__ import annotations

import uuid

import pytest

from contract_tests.client import ApiClient
from contract_tests.payloads import PaidTask, example_task, with_parameter
from contract_tests.targets import MediaSet, Target

# fixtures/media: a 1 s video and a 1 s voice. Segments make the audio longer (2.5 s) or shorter (0.5 s).
LONGER, SHORTER = 2.5, 0.5
EXPECTED_SECONDS = {
    ("bounce", LONGER): 2.5,
    ("loop", LONGER): 2.5,
    ("cut_off", LONGER): 1.0,
    ("silence", LONGER): 1.0,
    ("remap", LONGER): 2.5,
    ("bounce", SHORTER): 0.5,
    ("cut_off", SHORTER): 0.5,
    ("silence", SHORTER): 1.0,
    ("remap", SHORTER): 0.5,
}


@pytest.mark.parametrize(("mode", "audio_seconds"), sorted(EXPECTED_SECONDS), ids=lambda v: str(v))
def test_the_output_length_follows_the_sync_mode(
    api: ApiClient, paid_task: PaidTask, target: Target, mode: str, audio_seconds: float
) -> None:
    # The 1 s video with a voice longer or shorter than it (fixtures/media/voice-2.5s.wav, voice-0.5s.wav).
    task = paid_task(with_parameter(example_task(), "providerSettings.sync.syncMode", mode), audio_seconds)
    assert api.submit(task).status == 200
    (result,) = api.wait_for_results(task["taskUUID"], 1, budget=30 if target.is_local else 900)
    from mock_server.media import probe  # PyAV, imported by the cases that read a result file (see test_flow.py)

    info = probe(api.download(result["videoURL"])[2])
    assert info.duration == pytest.approx(EXPECTED_SECONDS[(mode, audio_seconds)], abs=0.1)


def test_an_upload_can_stand_for_an_input(
    api: ApiClient, media: MediaSet | None, paid_task: PaidTask, target: Target
) -> None:
    if media is None:
        pytest.skip("uploading by URL needs --media-base-url")
    uploads = {}
    for name, url in (("video", media.video), ("audio", media.audio)):
        answer = api.post(
            [{"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload", "media": url}]
        )
        assert answer.status == 200, answer.body
        (item,) = answer.data
        assert uuid.UUID(item["mediaUUID"]) and item["taskType"] == "mediaStorage"
        uploads[name] = item["mediaUUID"]
    task = paid_task()
    task["inputs"] = uploads
    assert api.submit(task).status == 200
    assert api.wait_for_results(task["taskUUID"], 1, budget=30 if target.is_local else 900)
    for media_uuid in uploads.values():
        deleted = api.post(
            [
                {
                    "taskType": "mediaStorage",
                    "taskUUID": str(uuid.uuid4()),
                    "operation": "delete",
                    "mediaUUID": media_uuid,
                }
            ]
        )
        assert deleted.status == 200


def test_media_that_cannot_be_fetched_fails_the_task_naming_the_input(
    api: ApiClient, paid_task: PaidTask, target: Target
) -> None:
    task = paid_task()
    task["inputs"]["video"] = task["inputs"]["video"].rsplit("/", 1)[0] + "/missing.mp4"
    assert api.submit(task).status == 200
    answer = api.wait_until_settled(task["taskUUID"], budget=30 if target.is_local else 900)
    assert not answer.data
    (error,) = answer.errors
    assert (error.get("parameter"), error.get("taskUUID"), error.get("status")) == (
        "inputs.video",
        task["taskUUID"],
        "error",
    )
    if target.is_mock:
        assert error["code"] == "downloadFailed"
