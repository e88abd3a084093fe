"""Seconds of compute per second of output when rendering results, per input size, syncMode and format.

    taskset -c 0 .venv/bin/python -m benchmarks.render [--seconds 30] [--repeat 3]

Run it pinned to one core (taskset) to measure single-core speed. Inputs are made here: a 720p and a 1080p
video of --seconds at 30 fps, and a voice 1.5 times as long, so modes that loop or stretch the video do.
The videos are textured (coarse noise drifting across the frame, H.264 at CRF 23, a bitrate like camera
footage's), so decoding costs about what real input does; flat synthetic clips would flatter the figures.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import time
import wave

import av
import numpy as np

from mock_server.render import AudioPart, RenderRequest, render

MODES = ("bounce", "loop", "cut_off", "silence", "remap")


def textured_video(width: int, height: int, seconds: float, fps: int = 30) -> bytes:
    """Coarse noise that drifts across the frame: every frame differs, like hand-held camera footage."""
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 256, (height * 3 // 16 + 1, (width + fps * 4) // 8), dtype=np.uint8)
    texture = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[: height * 3 // 2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(round(seconds * fps)):
            shift = (index * 4) % (fps * 4)
            frame = av.VideoFrame.from_ndarray(texture[:, shift : shift + width], format="yuv420p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def voice(seconds: float, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(
                int(6000 * math.sin(2 * math.pi * 220 * i / rate)).to_bytes(2, "little", signed=True)
                for i in range(round(seconds * rate))
            )
        )
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    audio = [AudioPart(voice(args.seconds * 1.5), "inputs.audio")]
    print(f"input video {args.seconds:g} s at 30 fps, audio {args.seconds * 1.5:g} s; median of {args.repeat} runs")
    print("CPU time of this process (all threads): pin it with taskset -c 0 for one core")
    columns = ("output s", "compute s", "compute/output", "x realtime")
    print(f"{'input':6} {'mode':8} {'format':6} " + " ".join(f"{c:>14}" for c in columns))
    for label, (width, height) in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
        video = textured_video(width, height, args.seconds)
        print(f"{label} input: {len(video) * 8 / args.seconds / 1e6:.1f} Mbit/s")
        for mode in MODES:
            for output_format in ("MP4", "WEBM", "MOV"):
                timings = []
                for _ in range(args.repeat):
                    started = time.process_time()
                    rendered = render(RenderRequest(video, audio, mode, output_format, 95))
                    timings.append(time.process_time() - started)
                compute = statistics.median(timings)
                ratio = compute / rendered.duration
                figures = (f"{rendered.duration:.1f}", f"{compute:.2f}", f"{ratio:.3f}", f"{1 / ratio:.1f}")
                print(f"{label:6} {mode:8} {output_format:6} " + " ".join(f"{f:>14}" for f in figures))


if __name__ == "__main__":
    main()
