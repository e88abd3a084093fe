"""A local stand-in for Runware's video-inference API serving sync:lipsync-2@1."""

MODEL_ID = "sync:lipsync-2@1"
