"""sync:lipsync-2@1 through the official `runware-sdk` (1.8), pointed at the mock instead of Runware.

    python -m venv sdk && sdk/bin/pip install runware-sdk==1.8.0
    sdk/bin/python examples/runware_sdk.py --mock http://127.0.0.1:8080 --transport websocket \\
        --video https://example.com/speaker.mp4 --audio https://example.com/voice.wav

The media URLs must be reachable by the mock. Prints the results as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from runware import Runware


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mock", default="http://127.0.0.1:8080", help="the mock's base URL")
    parser.add_argument("--transport", choices=["rest", "websocket"], default="rest")
    parser.add_argument("--api-key", default="any-key")
    parser.add_argument("--video", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--results", type=int, default=2)
    args = parser.parse_args()

    base = args.mock.rstrip("/")
    if args.transport == "rest":
        client = Runware(api_key=args.api_key, transport="rest", http_base_url=f"{base}/v1")
    else:
        ws_base = base.replace("http://", "ws://").replace("https://", "wss://")
        client = Runware(api_key=args.api_key, transport="websocket", ws_base_url=f"{ws_base}/v1")
    try:
        results = await client.run(
            {
                "taskType": "videoInference",  # named, so the SDK need not look the model up online
                "model": "sync:lipsync-2@1",
                "inputs": {"video": args.video, "audio": args.audio},
                "providerSettings": {"sync": {"syncMode": "cut_off"}},
                "numberResults": args.results,
                "includeCost": True,
            }
        )
    finally:
        await client.close()
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
