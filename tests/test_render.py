from __future__ import annotations

import io
import struct
import zlib

import av
import numpy as np
import pytest

from benchmarks.render_memory import (
    long_audio_without_duration,
    measure,
    measure_here,
    one_fps_video_without_duration,
    tone_wav,
)
from contract_tests.payloads import MEDIA_DIR
from mock_server.containers import CONTAINERS
from mock_server.exceptions import RunwareError
from mock_server.media import make_clip, probe
from mock_server.render import crf_for_quality, frame_source_time, output_seconds, render
from mock_server.render_request import AudioPart, RenderRequest

VIDEO = (MEDIA_DIR / "speaker.mp4").read_bytes()  # 1 s, 24 fps, a bar sweeping left to right
VOICE = (MEDIA_DIR / "voice.wav").read_bytes()  # 1 s
SEGMENT = "providerSettings.sync.segments[{}]"


def audio_of(seconds: float) -> list[AudioPart]:
    return [AudioPart(tone_wav(seconds), "inputs.audio")]


def segment(index: int, window: tuple[float, float], crop: tuple[float, float] | None = None) -> AudioPart:
    return AudioPart(VOICE, SEGMENT.format(index) + ".audio", window, crop)


def bar_widths(data: bytes, height: int = 96) -> list[int]:
    """Bright pixels in the level bar's row of every frame."""
    with av.open(io.BytesIO(data)) as result:
        return [int((f.to_ndarray(format="gray")[height * 7 // 8] > 128).sum()) for f in result.decode(video=0)]


@pytest.mark.parametrize(
    ("mode", "audio_seconds", "expected"),
    [
        ("bounce", 2.5, 2.5),
        ("bounce", 0.5, 0.5),
        ("loop", 2.5, 2.5),
        ("loop", 0.5, 0.5),
        ("cut_off", 2.5, 1.0),
        ("cut_off", 0.5, 0.5),
        ("silence", 2.5, 1.0),
        ("silence", 0.5, 1.0),
        ("remap", 2.5, 2.5),
        ("remap", 0.5, 0.5),
    ],
)
def test_output_length_follows_the_sync_mode(mode, audio_seconds, expected):
    rendered = render(RenderRequest(VIDEO, audio_of(audio_seconds), mode, "MP4", 80))
    assert rendered.duration == pytest.approx(expected, abs=1 / 24)
    assert probe(rendered.data).duration == pytest.approx(expected, abs=0.06)


@pytest.mark.parametrize(
    ("mode", "times"),
    [
        ("bounce", {0.5: 0.5, 1.25: 0.75, 2.0: 0.0, 2.5: 0.5}),
        ("loop", {0.5: 0.5, 1.25: 0.25, 2.5: 0.5}),
        ("remap", {0.5: 0.2, 2.5: 1.0}),
        ("cut_off", {0.5: 0.5}),
    ],
)
def test_frames_are_taken_from_the_video_as_the_mode_says(mode, times):
    for t, source in times.items():
        assert frame_source_time(mode, t, video=1.0, audio=2.5) == pytest.approx(source)
    assert output_seconds("silence", 1.0, 2.5) == 1.0


def test_quality_maps_onto_the_constant_rate_factor():
    assert [crf_for_quality(q) for q in (20, 95, 99)] == [40, 13, 12]


def test_frames_and_sound_come_from_the_inputs():
    rendered = render(RenderRequest(VIDEO, [AudioPart(VOICE, "inputs.audio")], "cut_off", "MOV", 99))
    with av.open(io.BytesIO(VIDEO)) as original, av.open(io.BytesIO(rendered.data)) as result:
        source = [f.to_ndarray(format="gray") for f in original.decode(video=0)]
        output = [f.to_ndarray(format="gray") for f in result.decode(video=0)]
    assert len(output) == len(source)
    top = slice(0, 60)  # above the level bar: the input's own picture
    assert np.abs(output[12][top].astype(int) - source[12][top].astype(int)).mean() < 4
    with av.open(io.BytesIO(rendered.data)) as result:
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in result.decode(audio=0)])
    assert np.abs(sound).max() > 0.05


@pytest.mark.parametrize("mode", ["bounce", "loop", "cut_off", "silence", "remap"])
def test_segments_keep_the_whole_video_whatever_the_mode(mode):
    video = make_clip(CONTAINERS["MP4"], 3.0)
    quiet = AudioPart(tone_wav(2.5, amplitude=300), "inputs.audio")  # ends inside the video, after the window
    rendered = render(RenderRequest(video, [quiet, segment(0, (1.0, 2.0), crop=(0.2, 0.7))], mode, "WEBM", 60))
    assert rendered.duration == pytest.approx(3.0, abs=1 / 24)
    assert probe(rendered.data).duration == pytest.approx(3.0, abs=0.06)
    # inputs.audio heard over 0-1 s and 2-2.5 s, the segment's 0.5 s placed in its window
    assert rendered.audio_seconds == pytest.approx(1.5 + 0.5)
    bars = bar_widths(rendered.data)
    assert max(bars[:22]) <= 4, "the quiet inputs.audio before the window draws (almost) no bar"
    assert max(bars[25:36]) > 20, "the voice in the window's first half draws a wide bar"
    assert max(bars[38:47]) <= 4, "the window's second half, which the cropped voice does not fill, is silent"


def test_segments_replace_the_frames_and_sound_of_the_video_only_in_their_windows():
    video = make_clip(CONTAINERS["MP4"], 3.0)
    rendered = render(RenderRequest(video, [segment(0, (0.5, 1.0)), segment(1, (2.0, 2.5))], "bounce", "MP4", 80))
    with av.open(io.BytesIO(video)) as original, av.open(io.BytesIO(rendered.data)) as result:
        source = [f.to_ndarray(format="gray")[:60] for f in original.decode(video=0)]
        output = [f.to_ndarray(format="gray")[:60] for f in result.decode(video=0)]
    assert len(output) == len(source) == 72
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(output, source, strict=True)) < 4
    assert rendered.audio_seconds == pytest.approx(1.0), "no inputs.audio: only the segments' audio is heard"


def test_overlapping_windows_do_not_break_the_render():
    rendered = render(RenderRequest(VIDEO, [segment(0, (0.2, 0.8)), segment(1, (0.5, 1.0))], "loop", "MP4", 80))
    assert rendered.duration == pytest.approx(1.0, abs=1 / 24)


@pytest.mark.parametrize(
    ("parts", "max_seconds", "code", "parameter"),
    [
        ([segment(0, (0.5, 1.5))], 300, "invalidEndTime", SEGMENT.format(0) + ".endTime"),
        (
            [segment(0, (0.0, 0.5)), segment(1, (0.5, 1.0), crop=(0.5, 1.5))],
            300,
            "invalidAudioEndTime",
            SEGMENT.format(1) + ".audioEndTime",
        ),
        ([segment(0, (0.0, 400.0))], 300, "invalidEndTime", SEGMENT.format(0) + ".endTime"),
        ([segment(0, (0.0, 0.5), crop=(0.0, 0.9))], 0.8, "invalidAudioEndTime", SEGMENT.format(0) + ".audioEndTime"),
    ],
    ids=["window-after-video", "crop-after-audio", "window-after-cap", "crop-after-cap"],
)
def test_windows_and_crops_past_their_media_or_the_cap_are_refused(parts, max_seconds, code, parameter):
    with pytest.raises(RunwareError) as raised:
        render(RenderRequest(VIDEO, parts, "bounce", "MP4", 95, max_seconds=max_seconds))
    assert (raised.value.code, raised.value.status, raised.value.parameter) == (code, 400, parameter)


def test_results_keep_the_input_size_unless_a_smaller_one_is_asked():
    video = make_clip(CONTAINERS["MP4"], 0.5, width=1280, height=720, fps=30)
    full = probe(render(RenderRequest(video, [AudioPart(VOICE, "inputs.audio")], "cut_off", "MP4", 95)).data)
    assert (full.width, full.height) == (1280, 720)
    small = render(RenderRequest(video, [AudioPart(VOICE, "inputs.audio")], "cut_off", "WEBM", 95, max_long_side=480))
    assert (probe(small.data).width, probe(small.data).height) == (480, 270)


def test_an_odd_frame_size_is_made_even():
    video = make_clip(CONTAINERS["WEBM"], 0.5, width=161, height=97)
    info = probe(render(RenderRequest(video, [AudioPart(VOICE, "inputs.audio")], "cut_off", "MP4", 95)).data)
    assert (info.width, info.height) == (160, 96)


@pytest.mark.parametrize(
    ("video", "audio", "parameter"),
    [
        (b"not a video at all" * 100, VOICE, "inputs.video"),
        (VOICE, VOICE, "inputs.video"),
        (VIDEO, b"not audio" * 100, "inputs.audio"),
    ],
)
def test_unreadable_media_is_refused_naming_the_input(video, audio, parameter):
    with pytest.raises(RunwareError) as raised:
        render(RenderRequest(video, [AudioPart(audio, "inputs.audio")], "bounce", "MP4", 95))
    assert (raised.value.code, raised.value.parameter) == ("unreadableMedia", parameter)


def test_inputs_longer_than_the_cap_are_refused():
    with pytest.raises(RunwareError) as raised:
        render(RenderRequest(VIDEO, [AudioPart(VOICE, "inputs.audio")], "bounce", "MP4", 95, max_seconds=0.5))
    assert (raised.value.code, raised.value.parameter) == ("mediaTooLong", "inputs.video")


@pytest.mark.parametrize("which", ["inputs.audio", "inputs.video"])
def test_lengths_are_counted_while_reading_not_taken_from_the_header(which):
    if which == "inputs.audio":  # 60 s of Opus, 45 kB, with no duration in its header
        hostile = long_audio_without_duration(60)
        request = RenderRequest(VIDEO, [AudioPart(hostile, "inputs.audio")], "loop", "MP4", 60, max_seconds=5)
    else:  # 60 frames at 1 fps, no duration in the header
        hostile = one_fps_video_without_duration(60)
        request = RenderRequest(hostile, [AudioPart(VOICE, "inputs.audio")], "silence", "MP4", 60, max_seconds=5)
    assert probe(hostile).duration == 0
    with pytest.raises(RunwareError) as raised:
        render(request)
    assert (raised.value.code, raised.value.parameter) == ("mediaTooLong", which)


def test_a_hostile_long_audio_is_refused_in_bounded_memory():
    result = measure("long_audio")  # 2 h of Opus, no duration header, at the 300 s cap
    assert result["outcome"] == "mediaTooLong (inputs.audio)"
    assert result["peak_growth_mb"] < 100, result


def test_a_fast_input_keeps_its_timing():
    video = make_clip(CONTAINERS["MP4"], 1.0, fps=60)  # more frames per second than results have
    rendered = render(RenderRequest(video, audio_of(0.5), "silence", "MP4", 80))
    assert rendered.duration == pytest.approx(1.0, abs=1 / 30)


def test_memory_does_not_grow_with_the_input():
    import tracemalloc

    video = make_clip(CONTAINERS["MP4"], 10.0, width=480, height=272, fps=30)  # 300 frames of ~196 kB
    tracemalloc.start()
    render(RenderRequest(video, [segment(0, (9, 10))], "cut_off", "MP4", 60))
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert peak < 25, peak


def test_bounce_holds_a_bounded_chunk_of_frames_when_it_walks_backwards():
    # 30 s of 480x272 forward and back: 176 MB if every frame were kept. Frames live outside Python's
    # allocator, so resident memory is measured, in a fresh process, with a buffer of 16 MB.
    result = measure("bounce", backward_buffer_bytes=16 * 2**20)
    assert result["outcome"] == "ok, 60.0 s of output"
    # Measured 35-47 MB (the codecs' threads and buffers on top of the frames held); keeping every frame: 176.
    assert result["peak_growth_mb"] < 176 / 2, result


def test_bounce_walks_back_through_the_right_frames_in_chunks_smaller_than_a_group_of_pictures(monkeypatch):
    from benchmarks.render import textured_video
    from mock_server import render as render_module

    video = textured_video(160, 96, 2.0)  # H.264 with B-frames, one keyframe: a 60-frame group of pictures
    monkeypatch.setattr(render_module, "BACKWARD_BUFFER_BYTES", 7 * 160 * 96 * 3 // 2)  # chunks of 7 frames
    rendered = render(RenderRequest(video, audio_of(4.0), "bounce", "MP4", 99))
    with av.open(io.BytesIO(video)) as original, av.open(io.BytesIO(rendered.data)) as result:
        source = [f.to_ndarray(format="gray")[:72].astype(int) for f in original.decode(video=0)]
        output = [f.to_ndarray(format="gray")[:72].astype(int) for f in result.decode(video=0)]
    assert len(output) == 120
    for index, frame in enumerate(output):
        shown = min(59, int(frame_source_time("bounce", index / 30, 2.0, 4.0) * 30 + 1e-6))
        assert np.abs(frame - source[shown]).mean() < 6, index


def test_the_result_max_side_setting_scales_results_through_the_api():
    import json
    import urllib.request

    from contract_tests.payloads import example_task, with_inline_media
    from mock_server.config import Settings
    from mock_server.testing import BackgroundServer

    sizes = {}
    for max_side in (None, 64):
        with BackgroundServer(Settings(processing_rate=0, result_max_side=max_side)) as mock:
            task = with_inline_media(example_task())
            headers = {"Authorization": "Bearer k"}
            for body in ([task], [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]):
                request = urllib.request.Request(mock.url, json.dumps(body).encode(), headers)
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.load(response)
            with urllib.request.urlopen(answer["data"][0]["videoURL"], timeout=30) as response:
                info = probe(response.read())
        sizes[max_side] = (info.width, info.height)
    assert sizes[None] == (160, 96)  # the fixture's own size
    assert max(sizes[64]) == 64


def test_segments_naming_one_audio_file_decode_it_once(monkeypatch):
    from mock_server import render as render_module

    decoded: list[str] = []
    decode = render_module.decode_audio
    monkeypatch.setattr(
        render_module,
        "decode_audio",
        lambda data, parameter, request: decoded.append(parameter) or decode(data, parameter, request),
    )
    video = make_clip(CONTAINERS["MP4"], 3.0)
    windows = [segment(index, (index * 0.1, index * 0.1 + 0.05), crop=(0.0, 0.05)) for index in range(20)]
    copy = AudioPart(bytes(bytearray(VOICE)), SEGMENT.format(20) + ".audio", (2.5, 2.9))  # equal bytes, another object
    render(RenderRequest(video, [AudioPart(tone_wav(1.0), "inputs.audio"), *windows, copy], "loop", "MP4", 60))
    # One decode per distinct file, by the first part naming it: inputs.audio's own, and the voice of 21 segments.
    assert decoded == ["inputs.audio", SEGMENT.format(0) + ".audio"]


def grey_png(width: int, height: int) -> bytes:
    """A black 8-bit greyscale PNG, compressed as it is written: a huge picture in a few hundred kB."""
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the pixels
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_a_huge_frame_is_refused_before_it_is_decoded():
    huge = grey_png(16000, 16000)  # 256 MB once decoded; opening it without a limit decoded it (4.1 GB renders)
    request = RenderRequest(huge, audio_of(1.0), "cut_off", "MP4", 80, max_frame_size=(4096, 2160))
    result = measure_here(request)
    assert result["outcome"] == "frameTooLarge (inputs.video)"
    assert result["peak_growth_mb"] < 64, result
    assert render(RenderRequest(grey_png(320, 4000), audio_of(0.5), "cut_off", "MP4", 80)).duration > 0  # no limit


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ((4096, 2160), "frames are 3000x4000, larger than the limit of 4096x2160"),  # decoded to learn its size
        ((2000, 2000), "without decoding a frame past 2000x2000"),  # too large even for that
    ],
)
def test_frames_past_the_limit_either_way_up_are_refused_by_their_size(size, words):
    with pytest.raises(RunwareError) as refused:
        render(RenderRequest(grey_png(3000, 4000), audio_of(0.5), "cut_off", "MP4", 80, max_frame_size=size))
    assert (refused.value.code, refused.value.parameter) == ("frameTooLarge", "inputs.video")
    assert words in refused.value.message
    upright = render(RenderRequest(grey_png(96, 160), audio_of(0.5), "cut_off", "MP4", 80, max_frame_size=(160, 96)))
    assert (probe(upright.data).width, probe(upright.data).height) == (96, 160)  # within the limit, turned


def test_a_result_past_its_byte_limit_stops_the_render_early():
    with pytest.raises(RunwareError) as refused:
        render(RenderRequest(VIDEO, audio_of(20.0), "loop", "MP4", 99, max_result_bytes=20_000))
    assert (refused.value.code, refused.value.parameter) == ("resultTooLarge", "inputs.video")
    seconds = float(refused.value.message.split(" after ")[1].split(" s ")[0])
    assert seconds < 5  # of the 20 s asked for
    assert len(render(RenderRequest(VIDEO, audio_of(1.0), "loop", "MP4", 99, max_result_bytes=10**7)).data) < 10**7
