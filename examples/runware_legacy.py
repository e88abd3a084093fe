"""sync:lipsync-2@1 through the legacy `runware` SDK (0.5.24, WebSocket only), pointed at the mock.

    python -m venv legacy && legacy/bin/pip install runware==0.5.24
    legacy/bin/python examples/runware_legacy.py --url http://127.0.0.1:8080 \\
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


def endpoints(url: str) -> tuple[str, str]:
    """The REST and WebSocket endpoints of a mock at `url` (http://host:port; a trailing /v1 is taken too)."""
    base = url.rstrip("/").removesuffix("/v1")
    scheme, _, address = base.partition("://")
    return f"{base}/v1", f"{'wss' if scheme == 'https' else 'ws'}://{address}/v1"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--url", default="http://127.0.0.1:8080", help="the mock's address; /v1 and ws://…/v1 are derived from it"
    )
    parser.add_argument("--api-key", default="any-key")
    parser.add_argument("--video", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--results", type=int, default=2)
    args = parser.parse_args()

    _, ws_url = endpoints(args.url)  # this SDK speaks WebSocket only
    runware = Runware(api_key=args.api_key, url=ws_url)
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
