"""A local stand-in for Runware's video-inference API serving sync:lipsync-2@1.

The public surface: `create_app` and `Settings` to run the mock in your own aiohttp setup, and — in
`mock_server.testing` — `BackgroundServer` and `MockControl` for tests.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

MODEL_ID = "sync:lipsync-2@1"

# The model page's price: USD per second of audio.
PRICE_PER_AUDIO_SECOND = Decimal("0.044")

__all__ = ["MODEL_ID", "PRICE_PER_AUDIO_SECOND", "Settings", "create_app"]

if TYPE_CHECKING:
    from mock_server.app import create_app
    from mock_server.config import Settings


def __getattr__(name: str) -> Any:
    # Imported when first asked for, so `import mock_server` stays cheap (no aiohttp, no PyAV).
    if name == "create_app":
        from mock_server.app import create_app

        return create_app
    if name == "Settings":
        from mock_server.config import Settings

        return Settings
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
