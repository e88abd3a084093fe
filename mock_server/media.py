"""Small helpers over PyAV (which bundles FFmpeg); what each outputFormat is written as is in `containers.py`.

`make_clip` writes test media (a bar sweeping over a dark frame, a quiet tone); `probe` reads what a
file holds.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from fractions import Fraction

import av

from mock_server.containers import AUDIO_RATE, ContainerSpec, encoder_options


@dataclass(frozen=True)
class MediaInfo:
    container: str
    brand: str | None  # the ISO/QuickTime major brand: "isom" for MP4, "qt  " for MOV
    video_codec: str | None
    audio_codec: str | None
    duration: float
    width: int | None
    height: int | None


def make_clip(spec: ContainerSpec, seconds: float, width: int = 160, height: int = 96, fps: int = 24) -> bytes:
    """Encode a clip of `seconds` with a sweeping bar and a 440 Hz tone."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.muxer) as container:
        video = container.add_stream(spec.video_codec, rate=fps, options=encoder_options(spec.video_codec))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream(
            spec.audio_codec, rate=AUDIO_RATE, layout="mono", options=encoder_options(spec.audio_codec)
        )
        frame_count = round(seconds * fps)
        for index in range(frame_count):
            container.mux(video.encode(_bar_frame(width, height, index / max(frame_count - 1, 1), index)))
        container.mux(video.encode())
        for frame in _tone_frames(seconds, AUDIO_RATE):
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return buffer.getvalue()


def _bar_frame(width: int, height: int, progress: float, index: int) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    luma = bytearray(b"\x28" * (width * height))
    bar_left, bar_width = int(progress * (width - width // 8)), width // 8
    for row in range(height * 3 // 4, height * 7 // 8):
        start = row * width + bar_left
        luma[start : start + bar_width] = b"\xeb" * bar_width
    _fill_plane(frame.planes[0], bytes(luma), width)
    for plane in frame.planes[1:]:
        _fill_plane(plane, b"\x80" * (plane.width * plane.height), plane.width)
    frame.pts = index
    return frame


def _fill_plane(plane: av.video.plane.VideoPlane, data: bytes, row_bytes: int) -> None:
    if plane.line_size == row_bytes:
        plane.update(data)
        return
    padded = bytearray(plane.line_size * plane.height)
    for row in range(plane.height):
        padded[row * plane.line_size : row * plane.line_size + row_bytes] = data[
            row * row_bytes : (row + 1) * row_bytes
        ]
    plane.update(bytes(padded))


def _tone_frames(seconds: float, rate: int, chunk: int = 1024) -> list[av.AudioFrame]:
    total = round(seconds * rate)
    frames = []
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        samples = b"".join(
            int(3000 * math.sin(2 * math.pi * 440 * (start + i) / rate)).to_bytes(2, "little", signed=True)
            for i in range(count)
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.planes[0].update(samples)
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        frames.append(frame)
    return frames


def probe(data: bytes) -> MediaInfo:
    """Container, codecs, size and duration of an encoded file; raises `av.FFmpegError` on non-media."""
    with av.open(io.BytesIO(data), "r") as container:
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        duration = container.duration / av.time_base if container.duration else 0.0
        return MediaInfo(
            container=container.format.name,
            brand=container.metadata.get("major_brand"),
            video_codec=video.codec_context.name if video else None,
            audio_codec=audio.codec_context.name if audio else None,
            duration=duration,
            width=video.width if video else None,
            height=video.height if video else None,
        )
