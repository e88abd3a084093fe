from __future__ import annotations

import asyncio
import base64
import socket
import tracemalloc

import pytest
from aiohttp import web

from mock_server.exceptions import RunwareError
from mock_server.inputs import MediaLimits, MediaLoader
from mock_server.store import Media

UPLOADED = Media(b"uploaded bytes", "video/mp4")


@pytest.fixture
async def files(aiohttp_server):
    async def clip(request):
        return web.Response(body=b"\x00\x01" * 50, content_type="video/mp4")

    async def big(request):
        response = web.StreamResponse()  # no Content-Length: the cap must hold while streaming
        await response.prepare(request)
        for _ in range(20):
            await response.write(b"x" * 1000)
        return response

    async def slow(request):
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    app = web.Application()
    app.router.add_get("/clip.mp4", clip)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def loader():
    media = MediaLoader(
        lambda uuid: UPLOADED if uuid == "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f" else None,
        MediaLimits(max_bytes=10_000, fetch_timeout=0.5),
    )
    yield media
    await media.close()


async def test_each_form_of_reference_is_read(loader, files):
    payload = base64.b64encode(b"hello media").decode()
    assert await loader.load(f"{files}/clip.mp4", "inputs.video", "") == Media(b"\x00\x01" * 50, "video/mp4")
    assert await loader.load(f"data:audio/wav;base64,{payload}", "inputs.audio", "") == Media(
        b"hello media", "audio/wav"
    )
    assert (await loader.load(payload, "inputs.audio", "")).data == b"hello media"
    assert await loader.load("3C8D2A7E-5F4B-4A1C-9E6D-7B8A9C0D1E2F", "inputs.video", "") == UPLOADED


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("{files}/missing.mp4", "downloadFailed"),
        ("{files}/slow", "downloadFailed"),
        ("{files}/big", "mediaTooLarge"),
        ("http://127.0.0.1:9/closed-port.mp4", "downloadFailed"),
        ("9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b", "mediaNotFound"),
        ("data:video/mp4,not-base64", "unreadableMedia"),
        ("data:video/mp4;base64,%%%", "unreadableMedia"),
        ("not base64 at all", "unreadableMedia"),
        ("A" * 20_000, "mediaTooLarge"),
    ],
)
async def test_every_failure_names_the_input(loader, files, reference, code):
    with pytest.raises(RunwareError) as raised:
        await loader.load(reference.format(files=files), "inputs.video", "")
    assert (raised.value.code, raised.value.parameter) == (code, "inputs.video")
    assert "inputs.video" in raised.value.message


async def test_inline_media_is_decoded_without_a_second_copy():
    size = 8 * 1024 * 1024
    reference = "data:video/mp4;base64," + base64.b64encode(bytes(size)).decode()
    tracemalloc.start()
    try:
        media = await MediaLoader(lambda _: None).load(reference, "inputs.video", "")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(media.data), media.content_type) == (size, "video/mp4")
    assert peak < 1.5 * size  # the decoded bytes once, not a buffer and a copy of it


async def test_a_download_with_no_answer_says_nothing_of_why_but_the_log_does(loader, files, caplog):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    messages = []
    for url in (f"http://127.0.0.1:{port}/clip.mp4", f"{files}/slow"):  # refused, then too slow (0.5 s)
        with pytest.raises(RunwareError) as raised:
            await loader.load(url, "inputs.video", "")
        messages.append(raised.value.message.replace(url, "URL"))
    assert (
        messages[0] == messages[1] == "Could not download inputs.video from URL: no answer (the mock's log says why)."
    )
    logged = [record.getMessage() for record in caplog.records if record.name == "mock_server.inputs"]
    assert "Connect call failed" in logged[0] and "no answer within 0.5 s" in logged[1]
