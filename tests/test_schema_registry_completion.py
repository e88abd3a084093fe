"""What completing a valid task fills in and converts, checked as JSON so that 20 and 20.0 differ.

The completion rules are built once per process (functools.cache) by the first task completed: this file
is listed first in the mutation-testing selection (docs/dev/mutation-testing.md), so that its first test is
the one credited with building them."""

from __future__ import annotations

import json

from mock_server.schema_registry import complete

TASK = "video-inference-task.json"
BASE = {
    "taskType": "videoInference",
    "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b",
    "model": "sync:lipsync-2@1",
    "inputs": {"video": "v"},
}


def as_json(value) -> str:
    return json.dumps(value, sort_keys=True)


def test_completing_spells_out_every_default_and_makes_integral_integers_ints():
    task = {
        **BASE,
        "outputQuality": 20.0,
        "numberResults": 2.0,
        "ttl": 60.0,
        "providerSettings": {
            "sync": {"temperature": 0.57, "segments": [{"startTime": 1.0, "endTime": 2.5, "audio": "a"}]}
        },
    }
    complete(TASK, task)
    assert as_json(task) == as_json(
        {
            **BASE,
            "outputType": "URL",
            "outputFormat": "MP4",
            "outputQuality": 20,
            "deliveryMethod": "async",
            "includeCost": False,
            "numberResults": 2,
            "ttl": 60,
            "safety": {"checkContent": False, "mode": "none"},
            "providerSettings": {
                "sync": {
                    "activeSpeakerDetection": {"autoDetect": False},
                    "occlusionDetectionEnabled": False,
                    "syncMode": "bounce",
                    "temperature": 0.57,
                    "segments": [{"startTime": 1.0, "endTime": 2.5, "audio": "a", "audioStartTime": 0}],
                }
            },
        }
    )
    bare = dict(BASE)
    complete(TASK, bare)
    assert "ttl" not in bare and bare["inputs"] == {"video": "v"}
    assert "segments" not in bare["providerSettings"]["sync"]


def test_values_given_are_kept_as_given():
    task = {
        **BASE,
        "outputFormat": "WEBM",
        "safety": {"checkContent": True},
        "providerSettings": {"sync": {"temperature": 1, "segments": [{"audioStartTime": 0.5, "audioEndTime": 3.0}]}},
    }
    complete(TASK, task)
    assert task["outputFormat"] == "WEBM"
    assert task["safety"] == {"checkContent": True, "mode": "none"}
    assert as_json(task["providerSettings"]["sync"]["segments"]) == '[{"audioEndTime": 3.0, "audioStartTime": 0.5}]'
    assert as_json(task["providerSettings"]["sync"]["temperature"]) == "1"
