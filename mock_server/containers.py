"""What each outputFormat is written as: container, codecs, the encoders' options and the sound's rate. Plain
data, without PyAV: the request side of the server reads it, and only renders load the media libraries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The encoders the mock writes with, as literals: PyAV's add_stream then types its stream as video or audio.
VideoCodec = Literal["libx264", "libvpx-vp9"]
AudioCodec = Literal["aac", "libopus"]


@dataclass(frozen=True)
class ContainerSpec:
    muxer: str
    extension: str
    content_type: str
    video_codec: VideoCodec
    audio_codec: AudioCodec


# outputFormat → how it is written. The model page names MP4 as H.264; WEBM gets VP9 + Opus, MOV H.264 + AAC.
CONTAINERS: dict[str, ContainerSpec] = {
    "MP4": ContainerSpec("mp4", "mp4", "video/mp4", "libx264", "aac"),
    "WEBM": ContainerSpec("webm", "webm", "video/webm", "libvpx-vp9", "libopus"),
    "MOV": ContainerSpec("mov", "mov", "video/quicktime", "libx264", "aac"),
}

AUDIO_RATE = 48_000  # every file written here carries its sound at this rate

# The fastest settings of each encoder: results and test clips are for checking pipelines, not for viewing.
# The sound took most of a short render's time: FFmpeg's AAC encoder with its "fast" coder takes 2.6x less than
# with its default one, Opus at compression level 0 2.2x less than at 10.
ENCODER_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "ultrafast"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    "aac": {"aac_coder": "fast"},
    "libopus": {"compression_level": "0"},
}


def encoder_options(codec: str, crf: int | None = None) -> dict[str, str]:
    """The options to open `codec` with, at constant rate factor `crf` when given (VP9 needs b:v 0 for that)."""
    options = dict(ENCODER_OPTIONS.get(codec, {}))
    if crf is not None:
        options["crf"] = str(crf)
        if codec.startswith("libvpx"):
            options["b:v"] = "0"
    return options
