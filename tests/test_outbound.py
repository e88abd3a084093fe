from __future__ import annotations

import pytest
from aiohttp import web

from mock_server.delivery import Deliverer
from mock_server.exceptions import RunwareError
from mock_server.inputs import MediaLoader
from mock_server.outbound import HostPolicy


@pytest.mark.parametrize(
    ("allowed", "url", "allows"),
    [
        ((), "http://127.0.0.1:9/a.mp4", True),
        ((), "http://127.8.0.1/a.mp4", True),
        ((), "http://[::1]:80/a.mp4", True),
        ((), "http://localhost/a.mp4", True),
        ((), "https://media.example.com/a.mp4", False),
        ((), "http://10.0.0.5/a.mp4", False),
        (("media.example.com",), "https://MEDIA.example.com/a.mp4", True),
        (("media.example.com",), "https://other.example.com/a.mp4", False),
        (("*",), "https://anything.example.org/a.mp4", True),
    ],
)
def test_only_loopback_and_allowed_hosts_are_reached(allowed, url, allows):
    assert HostPolicy(allowed).allows(url) is allows


@pytest.fixture
async def redirecting(aiohttp_server):
    async def away(request):
        raise web.HTTPFound("http://media.example.com/elsewhere.mp4")

    async def home(request):
        raise web.HTTPFound("/clip")

    async def clip(request):
        return web.Response(body=b"clip bytes")

    app = web.Application()
    app.router.add_get("/away", away)
    app.router.add_get("/home", home)
    app.router.add_get("/clip", clip)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_redirects_are_followed_only_to_allowed_hosts(redirecting):
    loader = MediaLoader(lambda _: None)
    try:
        assert (await loader.load(f"{redirecting}/home", "inputs.video", "")).data == b"clip bytes"
        with pytest.raises(RunwareError) as raised:
            await loader.load(f"{redirecting}/away", "inputs.video", "")
        assert raised.value.code == "downloadFailed" and "--allow-host media.example.com" in raised.value.message
        with pytest.raises(RunwareError):
            await loader.load("https://media.example.com/direct.mp4", "inputs.video", "")
    finally:
        await loader.close()


async def test_deliveries_to_hosts_not_allowed_are_journaled_not_sent():
    deliverer = Deliverer()
    assert not await deliverer.post_json("https://hooks.example.com/x", {"data": []}, "t")
    (attempt,) = deliverer.journal("t")
    assert attempt.status is None and "--allow-host hooks.example.com" in attempt.error
    await deliverer.close()
