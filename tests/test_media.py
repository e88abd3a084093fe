from __future__ import annotations

import av
import pytest

from mock_server.media import CONTAINERS, make_clip, placeholder_clip, probe


@pytest.mark.parametrize(
    ("output_format", "video_codec", "audio_codec"),
    [("MP4", "h264", "aac"), ("WEBM", "vp9", "opus"), ("MOV", "h264", "aac")],
)
def test_placeholders_are_real_files_of_their_format(output_format, video_codec, audio_codec):
    clip = placeholder_clip(output_format)
    info = probe(clip.data)
    assert (info.video_codec, info.audio_codec) == (video_codec, audio_codec)
    assert (info.width, info.height) == (160, 96)
    assert info.duration == pytest.approx(clip.duration, abs=0.05)


def test_mp4_and_mov_differ_by_brand():
    assert probe(placeholder_clip("MP4").data).brand == "isom"
    assert probe(placeholder_clip("MOV").data).brand == "qt  "


def test_a_clip_has_the_length_asked_for():
    assert probe(make_clip(CONTAINERS["MP4"], 0.5)).duration == pytest.approx(0.5, abs=0.05)


def test_probe_refuses_bytes_that_are_not_media():
    with pytest.raises(av.FFmpegError):
        probe(b"definitely not a video file" * 10)
