"""A local stand-in for Runware's video-inference API serving sync:lipsync-2@1."""

from decimal import Decimal

MODEL_ID = "sync:lipsync-2@1"

# The model page's price: USD per second of audio.
PRICE_PER_AUDIO_SECOND = Decimal("0.044")
