"""Contract tests for the lipsync-2 video-inference API, and helpers to build on them."""
