from __future__ import annotations

import io

import av
import numpy as np
import pytest

from contract_tests.payloads import MEDIA_DIR
from mock_server.exceptions import RunwareError
from mock_server.media import CONTAINERS, make_clip, probe
from mock_server.render import (
    AudioPart,
    RenderRequest,
    crf_for_quality,
    frame_source_time,
    output_seconds,
    render,
)

VIDEO = (MEDIA_DIR / "speaker.mp4").read_bytes()  # 1 s, 24 fps, a bar sweeping left to right
VOICE = (MEDIA_DIR / "voice.wav").read_bytes()  # 1 s


def audio_of(seconds: float) -> list[AudioPart]:
    """Audio `seconds` long made from the 1 s voice: cropped when shorter, placed in a window when longer."""
    if seconds <= 1:
        return [AudioPart(VOICE, "inputs.audio", window=(0, seconds), crop=(0, seconds))]
    return [AudioPart(VOICE, "providerSettings.sync.segments[0].audio", window=(seconds - 1, seconds))]


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


def test_segment_audio_is_placed_in_its_window_and_the_bar_follows_the_level():
    part = AudioPart(VOICE, "providerSettings.sync.segments[0].audio", window=(1.0, 1.5), crop=(0.2, 0.7))
    rendered = render(RenderRequest(VIDEO, [part], "loop", "WEBM", 60))
    assert rendered.duration == pytest.approx(1.5, abs=1 / 24)
    assert rendered.audio_seconds == pytest.approx(0.5)
    with av.open(io.BytesIO(rendered.data)) as result:
        frames = [f.to_ndarray(format="gray") for f in result.decode(video=0)]
    bar_row = 84  # 7/8 of 96 rows
    bright = [int((frame[bar_row] > 128).sum()) for frame in frames]
    assert max(bright[:20]) <= 4, "silence before the window draws (almost) no bar"
    assert max(bright[26:]) > 20, "the voice in the window draws a wide bar"


def test_a_larger_input_is_scaled_down():
    video = make_clip(CONTAINERS["MP4"], 0.5, width=1280, height=720, fps=30)
    info = probe(render(RenderRequest(video, [AudioPart(VOICE, "inputs.audio")], "cut_off", "MP4", 95)).data)
    assert (info.width, info.height) == (480, 270)


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


def test_a_fast_input_keeps_its_timing():
    video = make_clip(CONTAINERS["MP4"], 1.0, fps=60)  # more frames per second than results have
    rendered = render(RenderRequest(video, audio_of(0.5), "silence", "MP4", 80))
    assert rendered.duration == pytest.approx(1.0, abs=1 / 30)


def test_memory_does_not_grow_with_the_input_except_for_bounce():
    import tracemalloc

    video = make_clip(CONTAINERS["MP4"], 10.0, width=480, height=272, fps=30)  # 300 frames of ~196 kB
    peaks = {}
    for mode in ("cut_off", "bounce"):
        tracemalloc.start()
        render(RenderRequest(video, [AudioPart(VOICE, "inputs.audio", window=(9, 10))], mode, "MP4", 60))
        peaks[mode] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    assert peaks["cut_off"] < 25, peaks
    assert peaks["bounce"] > 50, peaks  # bounce walks backwards, so it keeps the frames
