from __future__ import annotations

import pytest
from aiohttp import web

from mock_server.delivery import Deliverer
from mock_server.exceptions import RunwareError
from mock_server.inputs import MediaLoader
from mock_server.outbound import OUTBOUND_HEADER, HostPolicy, names_mock_api


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


# A URL that leads back to a mock's task endpoint or control API, whatever the spelling, even with any host allowed.
SELF_API_URLS = [
    "http://127.0.0.1:8080/__mock/reset",
    "http://localhost:8080/__mock/reset",
    "http://LOCALHOST.:8080/__mock/reset",
    "http://127.1:8080/__mock/reset",
    "http://2130706433:8080/__mock/reset",
    "http://0x7f.0.0.1:8080/__mock/reset",
    "http://0.0.0.0:8080/__mock/reset",
    "http://[::1]:8080/__mock/reset",
    "http://[::]:8080/__mock/reset",
    "http://[::ffff:127.0.0.1]:8080/__mock/reset",
    "http://app.localhost:8080/__mock/reset",
    "http://mock.internal:9000/__mock/reset",  # the --public-url host
    "http://127.0.0.1:8080/__MOCK/reset",
    "http://127.0.0.1:8080//__mock/reset",
    "http://127.0.0.1:8080/%5F%5Fmock/reset",
    "http://127.0.0.1:8080/__mock%2Freset",
    "http://127.0.0.1:8080/media/../__mock/tasks/x/complete",
    "http://127.0.0.1:8080/__mock",
    "http://127.0.0.1:8080/v1",
    "http://127.0.0.1:8080/V1/",
    "http://127.0.0.1:9999/__mock/faults",  # another mock on this machine: refused too
]


@pytest.mark.parametrize("url", SELF_API_URLS)
def test_no_spelling_of_a_mock_api_on_this_machine_is_reached(url):
    policy = HostPolicy(("*",), own_names=("127.0.0.1", "mock.internal"))
    assert "task endpoint or control API" in policy.refusal(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/media/3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f",  # an upload, fetched by URL
        "http://127.0.0.1:8080/videos/3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f.mp4",
        "http://127.0.0.1:8080/__mock/media/speaker.mp4",  # sample media
        "http://127.0.0.1:9000/webhook",  # the client's own receiver
        "http://127.0.0.1:9000/v1/hooks",
        "https://hooks.example.com/v1",  # not this machine
    ],
)
def test_the_mocks_files_and_other_endpoints_are_reached(url):
    assert HostPolicy(("*",), own_names=("127.0.0.1",)).refusal(url) is None


@pytest.mark.parametrize(
    ("path", "api"),
    [("/v1", True), ("/__mock/reset", True), ("//__Mock//tasks/x/complete", True), ("/__mock/media/a.mp4", False)],
)
def test_names_mock_api(path, api):
    assert names_mock_api(path) is api


@pytest.fixture
async def receiver(aiohttp_server):
    """Records the headers of what it receives; `/to-control` redirects to a mock's control API."""
    received: list[dict[str, str]] = []

    async def record(request):
        received.append(dict(request.headers))
        return web.Response(body=b"clip bytes")

    async def to_control(request):
        raise web.HTTPFound("http://127.0.0.1:1/__mock/reset")

    app = web.Application()
    app.router.add_route("*", "/hook", record)
    app.router.add_get("/to-control", to_control)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/"), received


async def test_every_request_the_mock_sends_is_marked_as_its_own(receiver):
    base, received = receiver
    loader, deliverer = MediaLoader(lambda _: None), Deliverer()
    try:
        await loader.load(f"{base}/hook", "inputs.video", "")
        assert await deliverer.post_json(f"{base}/hook", {"data": []}, "t")
        assert await deliverer.put_file(f"{base}/hook", b"mp4", "video/mp4", "t")
    finally:
        await loader.close()
        await deliverer.close()
    assert [headers.get(OUTBOUND_HEADER) for headers in received] == ["1", "1", "1"]


async def test_a_redirect_to_a_control_api_is_refused_at_its_hop(receiver):
    base, _ = receiver
    loader = MediaLoader(lambda _: None, hosts=HostPolicy(("*",)))
    try:
        with pytest.raises(RunwareError) as raised:
            await loader.load(f"{base}/to-control", "inputs.video", "")
    finally:
        await loader.close()
    assert raised.value.code == "downloadFailed" and "control API" in raised.value.message
