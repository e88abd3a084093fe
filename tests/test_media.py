from __future__ import annotations

import av
import pytest

from mock_server.containers import CONTAINERS
from mock_server.media import make_clip, probe


@pytest.mark.parametrize(
    ("output_format", "video_codec", "audio_codec", "brand"),
    [("MP4", "h264", "aac", "isom"), ("WEBM", "vp9", "opus", None), ("MOV", "h264", "aac", "qt  ")],
)
def test_clips_are_real_files_of_their_format(output_format, video_codec, audio_codec, brand):
    info = probe(make_clip(CONTAINERS[output_format], 0.5))
    assert (info.video_codec, info.audio_codec, info.brand) == (video_codec, audio_codec, brand)
    assert (info.width, info.height) == (160, 96)
    assert info.duration == pytest.approx(0.5, abs=0.05)


def test_probe_refuses_bytes_that_are_not_media():
    with pytest.raises(av.FFmpegError):
        probe(b"definitely not a video file" * 10)
