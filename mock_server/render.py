"""Fake lip-sync results built from the inputs: the input's frames, the input's sound, the requested container.

Nothing here moves a mouth. The output follows the provider's rules for length (see `frame_source_time`),
places segment audio in its windows, and draws a bar in the lower part of every frame whose width follows
the audio level, so no one mistakes a result for a real render. CPU-bound: run it off the event loop.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from mock_server.exceptions import RunwareError
from mock_server.media import CONTAINERS, ContainerSpec

AUDIO_RATE = 48_000
MAX_LONG_SIDE = 480  # results are scaled down to this: cheap to make, plenty to check a pipeline with
MAX_FPS = 30


@dataclass(frozen=True)
class AudioPart:
    """Audio to place in the output: `data` is an encoded file; `window` the output seconds it fills (None:
    from 0, its whole length); `crop` the seconds of the source to use (None: all of it)."""

    data: bytes
    parameter: str
    window: tuple[float, float] | None = None
    crop: tuple[float, float] | None = None


@dataclass(frozen=True)
class RenderRequest:
    video: bytes
    audio: list[AudioPart]
    sync_mode: str
    output_format: str
    output_quality: int
    max_seconds: float = 300.0  # longest input accepted, video or audio


@dataclass(frozen=True)
class Rendered:
    data: bytes
    spec: ContainerSpec
    duration: float  # seconds of output
    audio_seconds: float  # seconds of input audio used, what the price is counted on


def crf_for_quality(quality: int) -> int:
    """outputQuality 20..99 onto the encoders' constant-rate factor (lower is better): 20 → 40, 99 → 12."""
    return round(40 - 28 * (quality - 20) / 79)


def frame_source_time(mode: str, t: float, video: float, audio: float) -> float:
    """The input video time shown at output time `t`, as the provider defines each syncMode.

    bounce: the video plays forward, then backward, repeating; loop: from the start again; cut_off and
    silence: as it is (the output is never longer than the video); remap: stretched to the audio's length.
    """
    if mode == "bounce":
        phase = t % (2 * video)
        return phase if phase < video else 2 * video - phase
    if mode == "loop":
        return t % video
    if mode == "remap":
        return t * video / audio
    return t


def output_seconds(mode: str, video: float, audio: float) -> float:
    if mode == "cut_off":
        return min(video, audio)
    if mode == "silence":
        return video
    return audio


def render(request: RenderRequest) -> Rendered:
    source = _VideoSource(request.video, request.max_seconds, keep_all=request.sync_mode == "bounce")
    try:
        return _render(request, source)
    finally:
        source.close()


def _render(request: RenderRequest, source: _VideoSource) -> Rendered:
    fps = min(MAX_FPS, round(source.rate)) or 25
    video_seconds = source.seconds
    track, used = _assemble_audio(request.audio, request.max_seconds)
    audio_seconds = len(track) / AUDIO_RATE
    if audio_seconds <= 0:
        raise RunwareError(
            "unreadableMedia",
            f"{request.audio[0].parameter} has no audio samples.",
            parameter=request.audio[0].parameter,
        )
    seconds = output_seconds(request.sync_mode, video_seconds, audio_seconds)
    total = max(1, round(seconds * fps))
    samples = round(seconds * AUDIO_RATE)
    track = np.pad(track, (0, max(0, samples - len(track))))[:samples]

    spec = CONTAINERS[request.output_format]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.muxer) as container:
        container.metadata["comment"] = "lipsync-mock: not a real lip-sync render"
        crf = str(crf_for_quality(request.output_quality))
        options = {"crf": crf, **({"b:v": "0"} if spec.video_codec.startswith("libvpx") else {})}
        options |= {"libx264": {"preset": "ultrafast"}, "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"}}.get(
            spec.video_codec, {}
        )
        video = container.add_stream(spec.video_codec, rate=fps, options=options)
        video.width, video.height = source.size
        video.pix_fmt = "yuv420p"
        audio = container.add_stream(spec.audio_codec, rate=AUDIO_RATE, layout="mono")
        per_frame = AUDIO_RATE / fps
        for index in range(total):
            shown = frame_source_time(request.sync_mode, index / fps, video_seconds, audio_seconds)
            picture = source.frame(int(shown * source.rate))
            window = track[int(index * per_frame) : int((index + 1) * per_frame)]
            level = float(np.sqrt(np.mean(window.astype(np.float32) ** 2))) / 32768 if len(window) else 0.0
            frame = av.VideoFrame.from_ndarray(_with_bar(picture, level), format="yuv420p")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode())
        for start in range(0, samples, 1024):
            chunk = track[start : start + 1024]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return Rendered(buffer.getvalue(), spec, total / fps, used)


def _with_bar(frame: np.ndarray, level: float) -> np.ndarray:
    """A copy of a yuv420p frame (as PyAV lays it out: luma rows, then chroma) with the level bar drawn."""
    out = frame.copy()
    height, width = frame.shape[0] * 2 // 3, frame.shape[1]
    top, bottom = height * 7 // 8, height * 7 // 8 + max(2, height // 24)
    out[top:bottom, :] = 16
    out[top:bottom, : max(2, int(width * min(1.0, level * 4)))] = 235
    return out


def _check_length(container: av.container.InputContainer, limit: float, parameter: str) -> None:
    seconds = (container.duration or 0) / av.time_base
    if seconds > limit:
        raise RunwareError(
            "mediaTooLong",
            f"{parameter} lasts {seconds:.1f} s, longer than the limit of {limit:g} s.",
            parameter=parameter,
        )


class _VideoSource:
    """The input's frames, scaled down, read in order as the output needs them: only the frame in hand is
    held, so memory does not grow with the input's length. Asking for an earlier frame starts the decode
    over (a loop's next pass); `bounce`, which walks backwards, keeps every frame instead (`keep_all`)."""

    def __init__(self, data: bytes, max_seconds: float, keep_all: bool) -> None:
        self.data = data
        with _reading_video(), av.open(io.BytesIO(data)) as container:
            _check_length(container, max_seconds, "inputs.video")
            if not container.streams.video:
                raise RunwareError("unreadableMedia", "inputs.video has no video stream.", parameter="inputs.video")
            stream = container.streams.video[0]
            self.rate = float(stream.average_rate or 25)
            self.size = _scaled_size(stream.codec_context.width, stream.codec_context.height)
            self.count = sum(1 for packet in container.demux(stream) if packet.size)
        if self.count == 0:
            raise RunwareError("unreadableMedia", "inputs.video has no frames.", parameter="inputs.video")
        self.seconds = self.count / self.rate
        self._kept: list[np.ndarray] | None = [] if keep_all else None
        self._restart()

    def frame(self, index: int) -> np.ndarray:
        index = min(index, self.count - 1)
        if self._kept is not None and index < len(self._kept):
            return self._kept[index]
        if index < self._index:
            self._restart()
        with _reading_video():
            while self._index < index:
                decoded = next(self._frames, None)
                if decoded is None:  # fewer frames than packets: the last one stands for the rest
                    break
                width, height = self.size
                self._current = decoded.reformat(width=width, height=height, format="yuv420p").to_ndarray()
                self._index += 1
                if self._kept is not None:
                    self._kept.append(self._current)
        if self._current is None:
            raise RunwareError("unreadableMedia", "inputs.video has no frames.", parameter="inputs.video")
        return self._current

    def close(self) -> None:
        self._container.close()

    def _restart(self) -> None:
        if hasattr(self, "_container"):
            self._container.close()
        with _reading_video():
            self._container = av.open(io.BytesIO(self.data))
            self._frames = iter(self._container.decode(self._container.streams.video[0]))
        self._index = -1
        self._current: np.ndarray | None = None


@contextlib.contextmanager
def _reading_video() -> Iterator[None]:
    try:
        yield
    except av.FFmpegError as error:
        raise RunwareError(
            "unreadableMedia", f"inputs.video is not a readable video file: {error}", parameter="inputs.video"
        ) from None


def _scaled_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_LONG_SIDE / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _assemble_audio(parts: list[AudioPart], max_seconds: float) -> tuple[np.ndarray, float]:
    """The output's sound track (int16 mono), and the seconds of input audio it uses."""
    placed: list[tuple[int, np.ndarray]] = []
    used = 0.0
    for part in parts:
        samples = _decode_audio(part, max_seconds)
        if part.crop is not None:
            samples = samples[round(part.crop[0] * AUDIO_RATE) : round(part.crop[1] * AUDIO_RATE)]
        if part.window is None:
            placed.append((0, samples))
            used += len(samples) / AUDIO_RATE
        else:
            start, end = (round(edge * AUDIO_RATE) for edge in part.window)
            placed.append((start, samples[: end - start]))
            used += part.window[1] - part.window[0]
    length = max(start + len(samples) for start, samples in placed)
    track = np.zeros(length, dtype=np.int16)
    for start, samples in placed:
        track[start : start + len(samples)] = samples
    return track, used


def _decode_audio(part: AudioPart, max_seconds: float) -> np.ndarray:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
    chunks = []
    try:
        with av.open(io.BytesIO(part.data)) as container:
            _check_length(container, max_seconds, part.parameter)
            if not container.streams.audio:
                raise RunwareError(
                    "unreadableMedia", f"{part.parameter} has no audio stream.", parameter=part.parameter
                )
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except av.FFmpegError as error:
        raise RunwareError(
            "unreadableMedia", f"{part.parameter} is not a readable audio file: {error}", parameter=part.parameter
        ) from None
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
