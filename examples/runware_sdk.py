"""sync:lipsync-2@1 through the official `runware-sdk` (1.8), pointed at the mock instead of Runware.

    python -m venv sdk && sdk/bin/pip install runware-sdk==1.8.0
    sdk/bin/python examples/runware_sdk.py --url http://127.0.0.1:8080 --transport websocket \\
        --video https://example.com/speaker.mp4 --audio https://example.com/voice.wav

The media URLs must be reachable by the mock. Prints the results as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from runware import Runware


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
    parser.add_argument("--transport", choices=["rest", "websocket"], default="rest")
    parser.add_argument("--api-key", default="any-key")
    parser.add_argument("--video", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--results", type=int, default=2)
    args = parser.parse_args()

    rest_url, ws_url = endpoints(args.url)
    if args.transport == "rest":
        client = Runware(api_key=args.api_key, transport="rest", http_base_url=rest_url)
    else:
        client = Runware(api_key=args.api_key, transport="websocket", ws_base_url=ws_url)
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
