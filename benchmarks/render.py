"""Render time against the ffmpeg command line doing the same transcode, per input, size, syncMode and format.

    taskset -c 0 .venv/bin/python -m benchmarks.render [--seconds 30] [--repeat 3] [--inputs 720p,1080p]

Run it pinned to one core (taskset) to compare single-core speed; ffmpeg inherits the pinning. Inputs are made
here: a 720p and a 1080p video of --seconds at 30 fps, and a voice 1.5 times as long, so modes that loop or
stretch the video do. The videos are textured (coarse noise drifting across the frame, H.264 at CRF 23, a
bitrate like camera footage's), so decoding costs about what real input does; flat synthetic clips would
flatter the figures. "segments" is one window over the middle third of the video, with the voice.

For each case the render (PyAV, in this process) and the system `ffmpeg` (if on the PATH) make the same output:
same length, size, frame rate, codecs and encoder options, the video's frames read as the mode needs them
(-stream_loop for loop and bounce, setpts for remap). Medians over --repeat of CPU seconds (all threads; of
the ffmpeg process for ffmpeg), which other load on the machine disturbs less than wall-clock time; pinned to
one core the two are about the same. Then render/ffmpeg.
Sizes: "full" (the input's, the default) and "480" (RenderRequest.max_long_side=480).
"""

from __future__ import annotations

import argparse
import io
import math
import resource
import shutil
import statistics
import subprocess
import tempfile
import wave
from collections.abc import Callable
from functools import partial
from pathlib import Path

import av
import numpy as np

from mock_server.containers import AUDIO_RATE, CONTAINERS, encoder_options
from mock_server.render import COMMENT, crf_for_quality, render
from mock_server.render_request import AudioPart, Rendered, RenderRequest

MODES = ("bounce", "loop", "cut_off", "silence", "remap", "segments")
FORMATS = ("MP4", "WEBM", "MOV")
SIZES = {"full": None, "480": 480}
INPUTS = {"720p": (1280, 720), "1080p": (1920, 1080)}
QUALITY = 95


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


def request_for(
    video: bytes, voice_wav: bytes, seconds: float, mode: str, output_format: str, size: int | None
) -> RenderRequest:
    if mode == "segments":
        window = AudioPart(voice_wav, "providerSettings.sync.segments[0].audio", (seconds / 3, seconds * 2 / 3))
        return RenderRequest(video, [window], "loop", output_format, QUALITY, max_long_side=size)
    return RenderRequest(
        video, [AudioPart(voice_wav, "inputs.audio")], mode, output_format, QUALITY, max_long_side=size
    )


def ffmpeg_command(
    video: Path, audio: Path, out: Path, mode: str, output_format: str, rendered: Rendered, video_seconds: float
) -> list[str]:
    """The ffmpeg command line making what `render` made: same length, size, rate, codecs and encoder options."""
    spec = CONTAINERS[output_format]
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    if mode in ("loop", "bounce"):  # bounce's backward passes cost what forward ones do; `reverse` holds them all
        command += ["-stream_loop", "-1"]
    command += ["-i", str(video), "-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-t", f"{rendered.duration}"]
    with av.open(io.BytesIO(rendered.data)) as result:
        stream = result.streams.video[0]
        width, height, fps = stream.width, stream.height, stream.average_rate
    with av.open(str(video)) as source:
        same_size = (source.streams.video[0].width, source.streams.video[0].height) == (width, height)
    filters = [] if same_size else [f"scale={width}:{height}"]
    if mode == "remap":
        filters.append(f"setpts=PTS*{rendered.duration / video_seconds}")
    if filters:
        command += ["-vf", ",".join(filters)]
    if mode in ("silence", "segments"):
        command += ["-af", "apad"]  # sound padded with silence to the video's length
    command += ["-r", str(fps), "-pix_fmt", "yuv420p", "-c:v", spec.video_codec]
    command += _flags(encoder_options(spec.video_codec, crf_for_quality(QUALITY)))
    command += ["-c:a", spec.audio_codec, *_flags(encoder_options(spec.audio_codec))]
    command += ["-ar", str(AUDIO_RATE), "-ac", "1", "-metadata", f"comment={COMMENT}"]
    return [*command, str(out)]


def _flags(options: dict[str, str]) -> list[str]:
    """Encoder options as the ffmpeg command line takes them: -name value."""
    return [item for name, value in options.items() for item in (f"-{name}", value)]


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished children: robust to other load."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = cpu_seconds()
        run()
        timings.append(cpu_seconds() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inputs", default=",".join(INPUTS), help="comma-separated, of: " + ", ".join(INPUTS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--sizes", default=",".join(SIZES))
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    voice_wav = voice(args.seconds * 1.5)
    print(f"input video {args.seconds:g} s at 30 fps, audio {args.seconds * 1.5:g} s; median CPU s of {args.repeat}")
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout if ffmpeg else "not found"
    print(f"ffmpeg: {version.splitlines()[0]}")
    print(f"PyAV {av.__version__} with FFmpeg {av.ffmpeg_version_info}")
    columns = ("output s", "render s", "ffmpeg s", "render/ffmpeg")
    print(f"{'input':6} {'size':5} {'mode':9} {'format':6} " + " ".join(f"{c:>13}" for c in columns))
    with tempfile.TemporaryDirectory() as folder:
        audio_path = Path(folder) / "voice.wav"
        audio_path.write_bytes(voice_wav)
        for label in args.inputs.split(","):
            video = textured_video(*INPUTS[label], args.seconds)
            video_path = Path(folder) / f"{label}.mp4"
            video_path.write_bytes(video)
            print(f"{label} input: {len(video) * 8 / args.seconds / 1e6:.1f} Mbit/s")
            for size in args.sizes.split(","):
                for mode in args.modes.split(","):
                    for output_format in args.formats.split(","):
                        request = request_for(video, voice_wav, args.seconds, mode, output_format, SIZES[size])
                        rendered = render(request)
                        render_seconds = median_seconds(partial(render, request), args.repeat)
                        figures = [f"{rendered.duration:.1f}", f"{render_seconds:.2f}", "-", "-"]
                        if ffmpeg:
                            out = Path(folder) / f"out.{CONTAINERS[output_format].extension}"
                            command = ffmpeg_command(
                                video_path, audio_path, out, mode, output_format, rendered, args.seconds
                            )
                            ffmpeg_seconds = median_seconds(partial(subprocess.run, command, check=True), args.repeat)
                            figures[2:] = [f"{ffmpeg_seconds:.2f}", f"{render_seconds / ffmpeg_seconds:.2f}"]
                        print(
                            f"{label:6} {size:5} {mode:9} {output_format:6} " + " ".join(f"{f:>13}" for f in figures),
                            flush=True,
                        )


if __name__ == "__main__":
    main()
