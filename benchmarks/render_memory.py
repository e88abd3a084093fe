"""Peak memory of one render, each in a fresh process: hostile inputs and bounce stay bounded.

    .venv/bin/python -m benchmarks.render_memory [--max-seconds 300]

Every case builds its inputs, resets the process's peak resident memory (VmHWM, through /proc/self/clear_refs),
renders, and reports how far the peak rose above the memory held before the render, and what the render
answered. PyAV frames and FFmpeg's buffers live outside Python's allocator, so tracemalloc cannot see them:
resident memory is the measure here.

- long_audio: WebM holding 2 h of Opus at 8 kHz (a few MB) and no duration in its header. Decoded at 48 kHz it
  would be 690 MB; it is refused at the cap.
- one_fps_video: WebM at 1 fps with 3,600 small frames and no duration in its header: refused at the cap.
- bounce: 30 s of 480x272 at 30 fps played forward and back (60 s of output); the frames of a backward walk are
  held a chunk at a time. Keeping them all would take 176 MB.
- bounce_720p: the same at 1280x720, the input's size (1.2 GB if every frame were kept).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np

from mock_server.containers import CONTAINERS
from mock_server.exceptions import RunwareError
from mock_server.media import make_clip
from mock_server.render import render
from mock_server.render_request import AudioPart, RenderRequest

CASES = ("long_audio", "one_fps_video", "bounce", "bounce_720p")


def long_audio_without_duration(seconds: int, rate: int = 8000) -> bytes:
    """WebM with `seconds` of quiet Opus at a low rate and no stated duration (written as a live stream).

    One second is encoded and its packets muxed again for every second after it: encoding stays cheap."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono", options={"b": "6000"})
        frame = av.AudioFrame.from_ndarray(np.zeros((1, rate), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        one_second = [(bytes(packet), packet.pts, packet.time_base) for packet in stream.encode(frame)]
        for second in range(seconds):
            for data, pts, time_base in one_second:
                assert pts is not None  # the encoder stamps every packet it gives
                packet = av.Packet(data)
                packet.pts = packet.dts = pts + round(second / time_base)
                packet.time_base, packet.stream = time_base, stream
                container.mux(packet)
    return buffer.getvalue()


def one_fps_video_without_duration(frame_count: int, width: int = 64, height: int = 48) -> bytes:
    """WebM at 1 fps with `frame_count` flat frames and no stated duration (written as a live stream)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx-vp9", rate=1, options={"deadline": "realtime", "cpu-used": "8"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frame_count):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                np.frombuffer(memoryview(plane), np.uint8)[:] = 128
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def tone_wav(seconds: float, amplitude: int = 6000, rate: int = 16_000) -> bytes:
    """A 220 Hz tone as 16-bit mono WAV."""
    samples = (amplitude * np.sin(2 * np.pi * 220 * np.arange(round(seconds * rate)) / rate)).astype(np.int16)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def case_request(case: str, max_seconds: float) -> RenderRequest:
    short_video = make_clip(CONTAINERS["MP4"], 1.0, width=64, height=48)
    if case == "long_audio":
        audio = AudioPart(long_audio_without_duration(2 * 3600), "inputs.audio")
        return RenderRequest(short_video, [audio], "loop", "MP4", 60, max_seconds)
    if case == "one_fps_video":
        video = one_fps_video_without_duration(3600)
        return RenderRequest(video, [AudioPart(tone_wav(1.0), "inputs.audio")], "silence", "MP4", 60, max_seconds)
    if case in ("bounce", "bounce_720p"):
        width, height = (480, 272) if case == "bounce" else (1280, 720)
        video = make_clip(CONTAINERS["MP4"], 30.0, width=width, height=height, fps=30)
        return RenderRequest(video, [AudioPart(tone_wav(60.0), "inputs.audio")], "bounce", "MP4", 60, max_seconds)
    raise ValueError(case)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        match = re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE)
    assert match, field
    return int(match.group(1))


def measure_here(request: RenderRequest) -> dict[str, object]:
    """Render in this process: the rise of peak resident memory in MB, and the outcome (an error code or ok)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak so far becomes the current resident size
    before = _status_kb("VmRSS")
    try:
        outcome = f"ok, {render(request).duration:.1f} s of output"
    except RunwareError as error:
        outcome = f"{error.code} ({error.parameter})"
    return {"peak_growth_mb": (_status_kb("VmHWM") - before) / 1024, "outcome": outcome}


def measure(case: str, max_seconds: float = 300.0, backward_buffer_bytes: int | None = None) -> dict[str, object]:
    """Run one case in a fresh process (so nothing earlier sets the peak) and return what `measure_here` says."""
    command = [sys.executable, "-m", "benchmarks.render_memory", "--case", case, "--max-seconds", str(max_seconds)]
    if backward_buffer_bytes is not None:
        command += ["--backward-buffer-bytes", str(backward_buffer_bytes)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--case", choices=CASES, help="run one case in this process and print it as JSON")
    parser.add_argument("--backward-buffer-bytes", type=int, help="override render.BACKWARD_BUFFER_BYTES")
    args = parser.parse_args()
    if args.case:
        if args.backward_buffer_bytes is not None:
            import mock_server.render

            mock_server.render.BACKWARD_BUFFER_BYTES = args.backward_buffer_bytes
        print(json.dumps(measure_here(case_request(args.case, args.max_seconds))))
        return
    for case in CASES:
        result = measure(case, args.max_seconds)
        print(f"{case:14} peak +{result['peak_growth_mb']:6.1f} MB   {result['outcome']}")


if __name__ == "__main__":
    main()
