"""sync:lipsync-2@1 through the legacy `runware` SDK (0.5.24, WebSocket only), pointed at the mock.

    python -m venv legacy && legacy/bin/pip install runware==0.5.24
    legacy/bin/python examples/runware_legacy.py --mock ws://127.0.0.1:8080/v1 \\
        --video https://example.com/speaker.mp4 --audio https://example.com/voice.wav

This SDK's getResponse ignores "processing" items and then waits up to 30 s before it polls again, as it
would against the real service: start the mock with `--processing-rate 0` for quick runs. Prints the
acknowledgment and the videos as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from runware import IVideoInference, Runware
from runware.types import IVideoInputs


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mock", default="ws://127.0.0.1:8080/v1", help="the mock's WebSocket URL")
    parser.add_argument("--api-key", default="any-key")
    parser.add_argument("--video", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--results", type=int, default=2)
    args = parser.parse_args()

    runware = Runware(api_key=args.api_key, url=args.mock)
    await runware.connect()
    try:
        request = IVideoInference(
            model="sync:lipsync-2@1",
            inputs=IVideoInputs(video=args.video, audio=args.audio),
            numberResults=args.results,
            includeCost=True,
        )
        ack = await runware.videoInference(requestVideo=request)
        videos = await runware.getResponse(taskUUID=ack.taskUUID, numberResults=args.results)
    finally:
        await runware.disconnect()
    print(
        json.dumps(
            {
                "taskUUID": ack.taskUUID,
                "videos": [{"videoUUID": v.videoUUID, "videoURL": v.videoURL, "cost": v.cost} for v in videos],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
