"""Fake lip-sync results built from the inputs: the input's frames, the input's sound, the requested container.

Nothing here moves a mouth. Without segments the output follows the provider's syncMode rules for length
(see `frame_source_time`); with segments it is the input video 1:1 at its full length, each window carrying
its segment's audio (see `_segments_track`). A bar in the lower part of every frame follows the audio level,
and the container's comment tag says the file is a mock, so no one mistakes a result for a real render.
CPU-bound: run it off the event loop.

Decisions:
- Every frame is decoded and re-encoded, even where a mode plays the input's frames 1:1 and copying its
  packets would be faster: a copied frame carries no bar, and a person who skips into a result must still
  see it is not a real render. (Copying also only works where the input's codec is the output's.)
- Lengths are counted while reading, never taken from container metadata, which may be missing or false:
  video frames while demuxing, audio samples while decoding. An input past `max_seconds` stops the read and
  is refused, so memory and output stay bounded whatever a file claims.
- Frames are decoded as the output needs them and only the frame in hand is held. Walking backwards
  (bounce) decodes a chunk of at most `BACKWARD_BUFFER_BYTES` of frames from the keyframe before it and plays
  the chunk in reverse; a loop's next pass starts the decoder over. Where a group of pictures holds more
  frames than a chunk, it is decoded more than once (frames before the chunk that no other frame refers to
  are skipped): memory is bounded at the price of some decoding time.
- Work is bounded by what the output needs, not by what the request names: every distinct audio file is decoded
  once however many segments name it (each segment's audio is a view of it), the frame size is read before a
  frame is decoded and refused past `max_frame_size` (no decoder may allocate a larger picture meanwhile), and
  the encode stops once the result passes `max_result_bytes`.
- Speed: the input is decoded with threads, a frame is converted only when its size or format differs from
  the output's, and the bar is drawn on the frame's own luma plane (copied first if the decoder still
  refers to it), so the cost is about what the ffmpeg command line takes for the same transcode
  (benchmarks/render.py measures both).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from fractions import Fraction
from itertools import chain

import av
import numpy as np

from mock_server.containers import AUDIO_RATE, CONTAINERS, encoder_options
from mock_server.exceptions import (
    FRAME_TOO_LARGE,
    MEDIA_TOO_LONG,
    MISSING_AUDIO,
    RESULT_TOO_LARGE,
    UNREADABLE_MEDIA,
    validation_error,
)
from mock_server.render_request import AudioPart, Rendered, RenderRequest

MAX_FPS = 30
BACKWARD_BUFFER_BYTES = 64 * 2**20  # frames held at once when bounce walks backwards
AUDIO_END_SLACK = 0.05  # seconds an audioEndTime may pass the decoded audio: encoders pad or trim a few ms
AUDIO_CHUNK = 1024  # samples per audio frame sent to the encoder
COMMENT = "lipsync-mock: not a real lip-sync render"


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
    segments = [part for part in request.audio if part.window is not None]
    main = next((part for part in request.audio if part.window is None), None)
    if main is None and not segments:
        raise MISSING_AUDIO("There is no audio to sync to: give inputs.audio or segments.", parameter="inputs.audio")
    limit = f"the limit of {request.max_seconds:g} s"
    for part in segments:  # before reading anything: no output may be longer than the limit
        assert part.window is not None
        _refuse_past(part, "endTime", part.window[1], request.max_seconds, limit)
        if part.crop is not None:
            _refuse_past(part, "audioEndTime", part.crop[1], request.max_seconds, limit)
    keep_recent = request.sync_mode == "bounce" and not segments  # its first walk back starts where it stands
    frames = _VideoFrames(
        request.video, request.max_seconds, request.max_long_side, request.max_frame_size, keep_recent
    )
    with frames:
        video_end = f"the end of inputs.video ({frames.seconds:.2f} s)"
        for part in segments:
            assert part.window is not None
            _refuse_past(part, "endTime", part.window[1], frames.seconds + 1 / frames.rate, video_end)
        sounds = _part_sounds([part for part in (main, *segments) if part is not None], request)
        main_samples = sounds[0] if main else None
        if segments:
            # The video is the frame of reference: its frames 1:1, full length, as silence mode plays them.
            mode, seconds = "silence", frames.seconds
            placed = list(zip(segments, sounds[1:] if main else sounds, strict=True))
            track, audio_seconds = _segments_track(main_samples, placed, seconds)
        else:
            assert main_samples is not None
            mode, track = request.sync_mode, main_samples
            audio_seconds = len(track) / AUDIO_RATE
            seconds = output_seconds(mode, frames.seconds, audio_seconds)
        return _encode(request, frames, mode, seconds, track, audio_seconds)


def _encode(
    request: RenderRequest, frames: _VideoFrames, mode: str, seconds: float, track: np.ndarray, audio_seconds: float
) -> Rendered:
    fps = min(MAX_FPS, round(frames.rate)) or 25
    total = max(1, round(seconds * fps))
    samples = round(seconds * AUDIO_RATE)
    track = np.pad(track[:samples], (0, max(0, samples - len(track))))
    spec = CONTAINERS[request.output_format]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.muxer) as container:
        container.metadata["comment"] = COMMENT
        options = encoder_options(spec.video_codec, crf_for_quality(request.output_quality))
        video = container.add_stream(spec.video_codec, rate=fps, options=options)
        video.width, video.height = frames.size
        video.pix_fmt = "yuv420p"
        video.codec_context.thread_count = 0  # as many as the encoder finds useful
        audio = container.add_stream(
            spec.audio_codec, rate=AUDIO_RATE, layout="mono", options=encoder_options(spec.audio_codec)
        )
        time_base = Fraction(1, fps)
        shown = [frames.index_at(frame_source_time(mode, i / fps, frames.seconds, audio_seconds)) for i in range(total)]
        lowest = _lowest_ahead(shown)
        audio_sent = 0
        for index in range(total):
            frame = frames.frame(shown[index], lowest[index])
            _draw_bar(frame, _level(track[index * AUDIO_RATE // fps : (index + 1) * AUDIO_RATE // fps]))
            frame.pts, frame.time_base = index, time_base
            container.mux(video.encode(frame))
            _refuse_larger_than(request, buffer.tell(), index / fps)
            # Sound up to this frame's end, so the muxer need not queue the whole video to interleave it.
            audio_sent = _encode_audio(container, audio, track, audio_sent, (index + 1) * AUDIO_RATE // fps)
        container.mux(video.encode())
        _encode_audio(container, audio, track, audio_sent, samples)
        container.mux(audio.encode())
    _refuse_larger_than(request, buffer.tell(), total / fps)
    return Rendered(buffer.getvalue(), total / fps, audio_seconds)


def _refuse_larger_than(request: RenderRequest, size: int, seconds: float) -> None:
    """Stop a result that has grown past `max_result_bytes` (after `seconds` of output)."""
    if request.max_result_bytes is not None and size > request.max_result_bytes:
        raise RESULT_TOO_LARGE(
            f"The result of inputs.video passed the limit of {request.max_result_bytes} bytes after {seconds:.1f} s"
            f" of output at outputQuality {request.output_quality}: a lower outputQuality, or a smaller or shorter"
            " input, makes a smaller one.",
            parameter="inputs.video",
        )


def _encode_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, track: np.ndarray, start: int, end: int
) -> int:
    """Encode `track` from sample `start` on, in chunks, until `end` is reached; where it got to."""
    while start < min(end, len(track)):
        chunk = track[start : start + AUDIO_CHUNK]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
        container.mux(stream.encode(frame))
        start += len(chunk)
    return start


def _lowest_ahead(indices: list[int]) -> list[int]:
    """For each position, the lowest index of the run of non-increasing indices that starts there."""
    lowest = indices.copy()
    for position in range(len(indices) - 2, -1, -1):
        if indices[position + 1] <= indices[position]:
            lowest[position] = lowest[position + 1]
    return lowest


def _level(samples: np.ndarray) -> float:
    """Loudness of int16 samples, 0..1 (root mean square over full scale)."""
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float32)))) / 32768 if len(samples) else 0.0


def _draw_bar(frame: av.VideoFrame, level: float) -> None:
    """Draw the level bar across the luma plane, over the whole band: a frame drawn on twice shows the last."""
    frame.make_writable()  # a copy if the decoder still refers to this picture
    plane = frame.planes[0]
    luma = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    top = frame.height * 7 // 8
    band = luma[top : top + max(2, frame.height // 24)]
    band[:, : frame.width] = 16
    band[:, : max(2, int(frame.width * min(1.0, level * 4)))] = 235


def _refuse_past(part: AudioPart, name: str, seconds: float, limit: float, what: str) -> None:
    """Refuse a segment whose field `name` (endTime, audioEndTime) is past `limit` seconds, which is `what`."""
    if seconds > limit:
        message = f"{part.segment}.{name} is {seconds:g} s, after {what}."
        raise validation_error("invalid", name, message, parameter=f"{part.segment}.{name}")


def _segments_track(
    main: np.ndarray | None, segments: list[tuple[AudioPart, np.ndarray]], seconds: float
) -> tuple[np.ndarray, float]:
    """The sound of a segmented result, `seconds` long: inputs.audio (if any) from 0, each window replaced by its
    segment's audio and silence after it; and the seconds of input audio heard, what the price is counted on."""
    length = round(seconds * AUDIO_RATE)
    track = np.zeros(length, dtype=np.int16)
    from_main = np.zeros(length, dtype=bool)  # where inputs.audio is heard
    if main is not None:
        track[: len(main)] = main[:length]
        from_main[: len(main)] = True
    placed = 0
    for part, samples in segments:
        assert part.window is not None
        start, end = (min(max(0, round(edge * AUDIO_RATE)), length) for edge in part.window)
        piece = samples[: max(0, end - start)]
        track[start:end] = 0
        track[start : start + len(piece)] = piece
        from_main[start:end] = False
        placed += len(piece)
    return track, (int(np.count_nonzero(from_main)) + placed) / AUDIO_RATE


def _part_sounds(parts: list[AudioPart], request: RenderRequest) -> list[np.ndarray]:
    """Each part's sound, cropped. A file several parts name is decoded once, by the first of them (parts naming
    one file share its bytes; equal bytes are found by their hash, computed once per object)."""
    decoded: dict[bytes, np.ndarray] = {}
    sounds = []
    for part in parts:
        if part.data not in decoded:
            decoded[part.data] = decode_audio(part.data, part.parameter, request)
        sounds.append(_cropped(part, decoded[part.data]))
    return sounds


def decode_audio(data: bytes, parameter: str, request: RenderRequest) -> np.ndarray:
    """The file's sound as int16 mono at AUDIO_RATE; samples are counted as they are decoded, and a file with
    more than `max_seconds` of them is refused there, whatever its header says."""
    limit = round(request.max_seconds * AUDIO_RATE)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
    chunks: list[np.ndarray] = []
    count = 0
    with _reading(parameter, "audio"), _open(data, request.max_frame_size) as container:
        if not container.streams.audio:
            raise UNREADABLE_MEDIA(f"{parameter} has no audio stream.", parameter=parameter)
        for decoded in chain(container.decode(container.streams.audio[0]), [None]):
            for frame in resampler.resample(decoded):
                chunks.append(frame.to_ndarray().reshape(-1))
                count += len(chunks[-1])
                if count > limit:
                    raise MEDIA_TOO_LONG(
                        f"{parameter} lasts longer than the limit of {request.max_seconds:g} s.", parameter=parameter
                    )
    if count == 0:
        raise UNREADABLE_MEDIA(f"{parameter} has no audio samples.", parameter=parameter)
    return np.concatenate(chunks)


def _cropped(part: AudioPart, samples: np.ndarray) -> np.ndarray:
    """The part's crop of its file's samples: a view, not a copy."""
    if part.crop is None:
        return samples
    seconds = len(samples) / AUDIO_RATE
    audio_end = f"the end of {part.parameter} ({seconds:.2f} s)"
    _refuse_past(part, "audioEndTime", part.crop[1], seconds + AUDIO_END_SLACK, audio_end)
    return samples[round(part.crop[0] * AUDIO_RATE) : round(part.crop[1] * AUDIO_RATE)]


def _open(data: bytes, max_frame_size: tuple[int, int] | None) -> av.container.InputContainer:
    """The file opened for reading. Opening decodes a frame of each stream where the container does not give its
    size (a PNG, some WebM): with a frame size limit, no decoder may allocate a larger picture than `_max_pixels`
    (a 16000x16000 image took 740 MB there) — a video whose size then stays unknown is refused by the caller."""
    if max_frame_size is None:
        return av.open(io.BytesIO(data), "r")
    return av.open(io.BytesIO(data), "r", options={"max_pixels": _max_pixels(max_frame_size)})


def _max_pixels(max_frame_size: tuple[int, int]) -> str:
    """The decoders' own bound on a picture, for frames within `max_frame_size` either way up: a square of its
    longer side, plus the 64 pixels a decoder may round a row up to (a 96x160 frame counts as 128x160)."""
    return str(max_frame_size[0] * (max_frame_size[0] + 64))


class _VideoFrames:
    """The input's frames by index (presentation order), at the output's size in yuv420p.

    Opening it demuxes the whole stream without decoding: it counts the frames (refusing more than
    `max_seconds` of them), keeps the packets (as compressed as the input) and notes the keyframes. `frame`
    then decodes forward as the output needs; an earlier index decodes again from the keyframe before it,
    holding a chunk of frames (at most BACKWARD_BUFFER_BYTES) for the indices that follow downwards (bounce's
    backward walk). With `keep_recent` the frames last shown are held as well, up to the same bound, so a
    walk back begins with frames already decoded.
    """

    def __init__(
        self,
        data: bytes,
        max_seconds: float,
        max_long_side: int | None,
        max_frame_size: tuple[int, int] | None,
        keep_recent: bool,
    ) -> None:
        self._keep_recent = keep_recent
        with _reading("inputs.video", "video"):
            self._container = _open(data, max_frame_size)
        try:
            if not self._container.streams.video:
                raise UNREADABLE_MEDIA("inputs.video has no video stream.", parameter="inputs.video")
            if max_frame_size is not None:
                _refuse_frames_past(self._container.streams.video[0], max_frame_size)
            self._read_packets(max_seconds, max_long_side)
        except BaseException:
            self._container.close()
            raise

    def _read_packets(self, max_seconds: float, max_long_side: int | None) -> None:
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads, as the ffmpeg command line decodes
        self.rate = float(stream.average_rate or stream.guessed_rate or 25)
        self._packets: list[av.Packet] = []
        with _reading("inputs.video", "video"):
            for packet in self._container.demux(stream):
                if packet.size:  # not the empty packet demux ends with
                    self._packets.append(packet)
                    if len(self._packets) > max_seconds * self.rate:
                        raise MEDIA_TOO_LONG(
                            f"inputs.video lasts longer than the limit of {max_seconds:g} s.", parameter="inputs.video"
                        )
        if not self._packets:
            raise UNREADABLE_MEDIA("inputs.video has no frames.", parameter="inputs.video")
        self.count = len(self._packets)
        self.seconds = self.count / self.rate
        self.size = _output_size(stream.codec_context.width, stream.codec_context.height, max_long_side)
        pts = [packet.pts for packet in self._packets if packet.pts is not None]
        if len(pts) < self.count:  # no timestamps to place frames by: count them as they come, from the first packet
            self._index_of: dict[int | None, int] = {}
            self._keyframes = [(0, 0)]
        else:
            self._index_of = {value: index for index, value in enumerate(sorted(pts))}
            self._keyframes = [  # (packet position, frame index), ascending in both
                (position, self._index_of[packet.pts])
                for position, packet in enumerate(self._packets)
                if packet.is_keyframe or position == 0
            ]
        width, height = self.size
        self._capacity = max(1, BACKWARD_BUFFER_BYTES // (width * height * 3 // 2))  # frames held at most
        self._held: dict[int, av.VideoFrame] = {}
        with _reading("inputs.video", "video"):
            self._decode_from(*self._keyframes[0])

    def __enter__(self) -> _VideoFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self._container.close()

    def index_at(self, seconds: float) -> int:
        """The frame shown at `seconds` of the input."""
        return min(max(0, int(seconds * self.rate + 1e-6)), self.count - 1)

    def frame(self, index: int, lowest: int) -> av.VideoFrame:
        """Frame `index`, ready to draw on (a frame the decoder dropped is shown as the one before it).
        `lowest`: the lowest frame the output asks for before it turns forward again, where a chunk stops."""
        if index in self._held:
            return self._held[index]
        with _reading("inputs.video", "video"):
            if index < self._current[0]:
                self._hold_chunk(index, lowest)
                return self._held[index]
            if not self._keep_recent:
                self._held.clear()
            self._advance(index)
            frame = self._prepared()
            if self._keep_recent:
                self._held[index] = frame
                if len(self._held) > self._capacity:
                    del self._held[next(iter(self._held))]  # the earliest held
            return frame

    def _hold_chunk(self, last: int, lowest: int) -> None:
        """Hold frames `first`..`last`: from the keyframe before `last` or `lowest`, fewer if they would not fit."""
        position, keyframe = next(((p, i) for p, i in reversed(self._keyframes) if i <= last), self._keyframes[0])
        first = max(keyframe, last + 1 - self._capacity, min(lowest, last))
        self._held.clear()
        self._decode_from(position, keyframe, first)
        for index in range(first, last + 1):
            self._advance(index)
            self._held[index] = self._prepared()

    def _decode_from(self, position: int, index: int, wanted_from: int = 0) -> None:
        """Restart the decoder at packet `position`, keyframe of frame `index`: its first frame is in hand.
        Frames before `wanted_from` that no other frame refers to are skipped, not decoded."""
        decoder = self._container.streams.video[0].codec_context
        decoder.flush_buffers()
        self._decoded = self._decode(decoder, position, index, wanted_from)
        first = next(self._decoded, None)
        if first is None:
            raise UNREADABLE_MEDIA("inputs.video has no frames.", parameter="inputs.video")
        self._current: tuple[int, av.VideoFrame] = first
        self._next: tuple[int, av.VideoFrame] | None = next(self._decoded, None)
        self._ready: tuple[av.VideoFrame, av.VideoFrame] | None = None

    def _decode(
        self, decoder: av.VideoCodecContext, position: int, index: int, wanted_from: int
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        last = index - 1
        for packet in chain(self._packets[position:], [None]):
            skip = packet is not None and self._index_of.get(packet.pts, wanted_from) < wanted_from
            decoder.skip_frame = "NONREF" if skip else "DEFAULT"
            for frame in decoder.decode(packet):
                last = self._index_of.get(frame.pts, last + 1)
                yield last, frame

    def _advance(self, index: int) -> None:
        """Decode up to frame `index`: the frame in hand becomes the last decoded at or before it."""
        while self._next is not None and self._next[0] <= index:
            self._current, self._next = self._next, next(self._decoded, None)

    def _prepared(self) -> av.VideoFrame:
        """The frame in hand at the output's size and format (converted once, however often it is shown)."""
        raw = self._current[1]
        if self._ready is None or self._ready[0] is not raw:
            width, height = self.size
            same = (raw.width, raw.height, raw.format.name) == (width, height, "yuv420p")
            self._ready = (raw, raw if same else raw.reformat(width=width, height=height, format="yuv420p"))
        return self._ready[1]


@contextlib.contextmanager
def _reading(parameter: str, kind: str) -> Iterator[None]:
    try:
        yield
    except av.FFmpegError as error:
        raise UNREADABLE_MEDIA(f"{parameter} is not a readable {kind} file: {error}", parameter=parameter) from None


def _refuse_frames_past(stream: av.VideoStream, max_frame_size: tuple[int, int]) -> None:
    """Refuse a video whose frames are larger than `max_frame_size` (its longer and shorter side, either way up),
    from the size the container gives, before a frame is decoded; and keep the decoder to that many pixels, should
    the stream change its size later on."""
    width, height = stream.codec_context.width, stream.codec_context.height
    longer, shorter = max_frame_size
    if not width or not height:
        message = f"inputs.video: its frame size cannot be read without decoding a frame past {longer}x{longer}."
        raise FRAME_TOO_LARGE(message, parameter="inputs.video")
    if max(width, height) > longer or min(width, height) > shorter:
        raise FRAME_TOO_LARGE(
            f"inputs.video's frames are {width}x{height}, larger than the limit of {longer}x{shorter} (either way up).",
            parameter="inputs.video",
        )
    stream.codec_context.options = {"max_pixels": _max_pixels(max_frame_size)}


def _output_size(width: int, height: int, max_long_side: int | None) -> tuple[int, int]:
    """The input's size, scaled down to fit `max_long_side` if given, in even numbers (yuv420p halves them)."""
    scale = 1.0 if max_long_side is None else min(1.0, max_long_side / max(width, height))
    return max(2, int(width * scale + 1e-6) // 2 * 2), max(2, int(height * scale + 1e-6) // 2 * 2)
