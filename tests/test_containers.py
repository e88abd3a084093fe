from __future__ import annotations

import pytest

from mock_server.containers import CONTAINERS, encoder_options
from mock_server.schema_registry import schemas


def test_every_output_format_of_the_schema_has_a_container():
    output_format = schemas()["video-inference-task.json"]["properties"]["outputFormat"]
    assert set(CONTAINERS) == set(output_format["enum"])


def test_a_crf_is_passed_to_the_encoder_and_vp9_then_drops_its_bitrate_cap():
    assert encoder_options("libx264", 23) == {"preset": "ultrafast", "crf": "23"}
    assert encoder_options("libvpx-vp9", 40)["crf"] == "40"
    assert encoder_options("libvpx-vp9", 40)["b:v"] == "0"  # otherwise VP9 ignores crf for its default bitrate
    assert "crf" not in encoder_options("libx264")


@pytest.mark.parametrize(
    ("codec", "fastest"), [("aac", {"aac_coder": "fast"}), ("libopus", {"compression_level": "0"})]
)
def test_sound_is_encoded_with_the_encoders_fastest_settings(codec, fastest):
    assert encoder_options(codec) == fastest


def test_the_options_are_a_copy_callers_may_change():
    encoder_options("libx264", 10)["preset"] = "slow"
    assert encoder_options("libx264") == {"preset": "ultrafast"}
