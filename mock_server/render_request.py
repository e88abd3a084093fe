"""What a render is given and what it gives back: plain values, sent to a render process and back, so the server
builds them without loading the render code (`render.py`, with PyAV and numpy)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioPart:
    """Audio to place in the output: `data` is an encoded file (parts naming one file share its bytes, and it is
    decoded once); `parameter` names it (`inputs.audio`, or a
    segment's `providerSettings.sync.segments[i].audio`); `window` the segment's startTime and endTime (None:
    inputs.audio); `crop` the segment's audioStartTime and audioEndTime (None: the whole file)."""

    data: bytes
    parameter: str
    window: tuple[float, float] | None = None
    crop: tuple[float, float] | None = None

    @property
    def segment(self) -> str:
        """The segment's own path, `providerSettings.sync.segments[i]`, to name its other fields in errors."""
        return self.parameter.rpartition(".")[0]


@dataclass(frozen=True)
class RenderRequest:
    video: bytes
    audio: list[AudioPart]
    sync_mode: str
    output_format: str
    output_quality: int
    max_seconds: float = 300.0  # longest input, window or crop accepted (--max-media-seconds)
    max_long_side: int | None = None  # results scaled down to fit this (--result-max-side); None: input size
    max_frame_size: tuple[int, int] | None = None  # (longer, shorter) side of input frames (--max-frame-size)
    max_result_bytes: int | None = None  # the longest a result file may grow (--max-result-bytes)


@dataclass(frozen=True)
class Rendered:
    data: bytes
    duration: float  # seconds of output
    audio_seconds: float  # seconds of input audio heard in the output, what the price is counted on
