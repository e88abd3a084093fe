"""Hostile input and web pages: every refusal a 400-class answer in the platform's envelope, through the API."""

from __future__ import annotations

import json

import pytest
from yarl import URL

from contract_tests.payloads import example_task, with_inline_media
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.http.app_keys import DISPATCHER
from mock_server.http.guard import host_is_known
from mock_server.outbound import OUTBOUND_HEADER

HEADERS = {"Authorization": "Bearer key"}
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(create_app(Settings(processing_rate=0)))


async def codes(response) -> tuple[int, list[str]]:
    return response.status, [error["code"] for error in (await response.json())["errors"]]


async def test_a_number_too_large_for_a_float_is_refused_not_a_crash(client):
    body = json.dumps([example_task()])[:-2] + ', "providerSettings": {"sync": {"temperature": 1e999}}}]'
    response = await client.post("/v1", data=body, headers=HEADERS)
    assert await codes(response) == (400, ["invalidRequestBody"])


async def test_the_same_number_is_refused_over_the_websocket(client):
    async with client.ws_connect("/v1") as socket:
        await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": "key"}]))
        await socket.receive(timeout=10)
        await socket.send_str('[{"taskType": "getResponse", "taskUUID": "x", "n": 1e999}]')
        answer = json.loads((await socket.receive(timeout=10)).data)
        assert [e["code"] for e in answer["errors"]] == ["invalidRequestBody"]


@pytest.mark.parametrize("fault", ["latency=nan", "latency=inf", "hang=1e999", "webhook_delay=-1"])
async def test_a_non_finite_fault_is_refused(client, fault):
    response = await client.post("/v1", json=[example_task()], headers={**HEADERS, "X-Mock-Fault": fault})
    assert await codes(response) == (400, ["invalidMockFault"])


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/lifecycle", "PUT", {"mode": "after", "seconds": "abc"}),
        ("/lifecycle", "PUT", {"mode": "polls", "polls": 1e300}),
        ("/lifecycle", "PUT", {}),
        ("/processing-rate", "PUT", {"rate": None}),
        ("/processing-rate", "PUT", {}),
        ("/seed", "POST", {"seed": 1.5}),
        ("/faults", "POST", {"fault": "status=503", "times": 0}),
        ("/faults", "POST", {"fault": "status=503", "taskUUID": 5}),
    ],
)
async def test_control_numbers_from_outside_are_checked(client, path, method, body):
    response = await client.request(method, "/__mock" + path, json=body)
    assert await codes(response) == (400, ["invalidControlRequest"])


async def test_non_finite_rates_never_reach_the_server(client):
    for text in ("NaN", "Infinity", "-Infinity"):
        response = await client.put(
            "/__mock/processing-rate", data='{"rate": ' + text + "}", headers={"Content-Type": "application/json"}
        )
        assert await codes(response) == (400, ["invalidControlRequest"])


async def test_a_deeply_nested_body_is_refused_and_the_journal_still_reads(client):
    assert await codes(await client.post("/v1", data=DEEP, headers=HEADERS)) == (400, ["invalidRequestBody"])
    assert (await client.get("/__mock/requests")).status == 200
    await client.post("/__mock/faults", json={"fault": "latency=1", "taskType": "getResponse"})
    assert await codes(await client.post("/v1", data=DEEP, headers=HEADERS)) == (400, ["invalidRequestBody"])


async def test_a_deeply_nested_frame_is_answered_and_the_socket_stays_open(client):
    async with client.ws_connect("/v1") as socket:
        await socket.send_str(DEEP.decode())
        answer = json.loads((await socket.receive(timeout=10)).data)
        assert answer["errors"][0]["code"] == "invalidRequestBody"
        await socket.send_str(json.dumps([{"taskType": "ping", "ping": True}]))
        assert json.loads((await socket.receive(timeout=10)).data) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_a_host_the_mock_does_not_serve_is_refused(client):
    response = await client.post("/v1", json=[example_task()], headers={**HEADERS, "Host": "evil.example:1"})
    assert await codes(response) == (421, ["unknownHost"])
    assert (await client.get("/__mock/requests", headers={"Host": "rebind.attacker.test"})).status == 421


async def test_urls_come_from_the_connection_not_the_host_header(client):
    upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    upload["media"] = with_inline_media(example_task())["inputs"]["audio"]
    response = await client.post("/v1", json=[upload], headers={**HEADERS, "Host": "10.9.8.7:1"})
    media_url = (await response.json())["data"][0]["mediaURL"]
    assert media_url.startswith(f"http://127.0.0.1:{client.port}/media/")


async def test_a_public_url_is_used_for_urls_and_accepted_as_host(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, public_url="http://mock.internal:9000")))
    upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    upload["media"] = with_inline_media(example_task())["inputs"]["audio"]
    response = await client.post("/v1", json=[upload], headers={**HEADERS, "Host": "mock.internal:9000"})
    assert (await response.json())["data"][0]["mediaURL"].startswith("http://mock.internal:9000/media/")


def test_known_hosts():
    settings = Settings()
    assert all(
        host_is_known(h, settings) for h in ["127.0.0.1:8080", "localhost", "[::1]:1", "app.localhost", "10.0.0.2"]
    )
    assert not any(host_is_known(h, settings) for h in ["evil.example", "localhost.evil.example", ""])
    assert host_is_known("mock:1", Settings(host="mock"))


async def test_a_web_page_cannot_drive_the_control_api(client):
    # A cross-origin "simple" request needs no preflight: text/plain, from another origin.
    simple = await client.post("/__mock/faults", data='{"fault": "status=503"}', headers={"Content-Type": "text/plain"})
    assert await codes(simple) == (400, ["invalidControlRequest"])
    foreign = await client.post(
        "/__mock/faults", json={"fault": "status=503"}, headers={"Origin": "http://evil.example"}
    )
    assert await codes(foreign) == (403, ["forbiddenOrigin"])
    assert await (await client.get("/__mock/faults")).json() == []
    same = await client.post("/__mock/reset", json={}, headers={"Origin": f"http://127.0.0.1:{client.port}"})
    assert same.status == 200


async def test_the_fault_header_needs_the_control_api_and_its_token(aiohttp_client):
    off = await aiohttp_client(create_app(Settings(processing_rate=0, control=False)))
    response = await off.post("/v1", json=[example_task()], headers={**HEADERS, "X-Mock-Fault": "status=503"})
    assert response.status == 200
    guarded = await aiohttp_client(create_app(Settings(processing_rate=0, control_token="t")))
    without = await guarded.post("/v1", json=[example_task()], headers={**HEADERS, "X-Mock-Fault": "status=503"})
    assert without.status == 200
    token = {**HEADERS, "X-Mock-Fault": "status=503", "X-Mock-Control-Token": "t"}
    assert (await guarded.post("/v1", json=[example_task()], headers=token)).status == 503


async def test_keys_are_not_journaled(client):
    await client.post("/v1", json=[{"taskType": "authentication", "apiKey": "sk-live-123"}, example_task()])
    journal = await (await client.get("/__mock/requests")).json()
    assert "sk-live-123" not in json.dumps(journal)
    assert journal[0]["request"][0]["apiKey"] == "[redacted]"


@pytest.mark.parametrize(("name", "value"), [("endTime", 100_000), ("audioEndTime", 300.01)])
async def test_a_window_or_crop_past_the_media_limit_is_refused_at_submission(client, name, value):
    segment = {"startTime": 0, "endTime": 1, "audio": "http://127.0.0.1:9/voice.wav"}
    if name == "audioEndTime":
        segment |= {"audioStartTime": 0}
    segment[name] = value
    task = {**example_task(), "providerSettings": {"sync": {"segments": [segment]}}}
    response = await client.post("/v1", json=[task], headers=HEADERS)
    (error,) = (await response.json())["errors"]
    assert response.status == 400
    code = "invalid" + name[0].upper() + name[1:]
    parameter = f"providerSettings.sync.segments[0].{name}"
    assert (error["code"], error["parameter"], error["max"]) == (code, parameter, 300)
    at_limit = {**segment, name: 300}
    response = await client.post(
        "/v1", json=[{**task, "providerSettings": {"sync": {"segments": [at_limit]}}}], headers=HEADERS
    )
    assert response.status == 200


async def test_a_parameter_named_with_brackets_is_refused_not_a_crash(client):
    task = {**example_task(), "providerSettings": {"Y[a]": 1}}
    response = await client.post("/v1", json=[task], headers=HEADERS)
    (error,) = (await response.json())["errors"]
    assert (response.status, error["code"], error["parameter"]) == (
        400,
        "unsupportedParameter",
        "providerSettings.Y[a]",
    )


async def test_a_malformed_host_or_origin_is_refused_not_a_crash(client):
    assert await codes(await client.get("/health", headers={"Host": "[::1"})) == (421, ["unknownHost"])
    foreign = await client.post("/__mock/reset", json={}, headers={"Origin": "http://[::1"})
    assert await codes(foreign) == (403, ["forbiddenOrigin"])


async def test_a_web_page_cannot_reset_or_complete_tasks_through_the_mocks_own_webhooks(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, allowed_hosts=("*",))))
    other = {**HEADERS, "X-Mock-Namespace": "other"}
    await client.put("/__mock/lifecycle", json={"mode": "manual"}, headers={"X-Mock-Namespace": "other"})
    victim = with_inline_media(example_task())
    assert (await client.post("/v1", json=[victim], headers=other)).status == 200
    assert (await client.post("/v1", json=[example_task() for _ in range(5)], headers=HEADERS)).status == 200
    port = client.port
    hooks = [
        f"http://{host}:{port}{path}"
        for host in ("127.0.0.1", "localhost", "localhost.", "127.1", "2130706433", "0.0.0.0", "[::1]", "LOCALHOST")
        for path in ("/__mock/reset", "//__mock/reset", "/%5F%5Fmock/reset")
    ] + [f"http://127.0.0.1:{port}/__mock/tasks/{victim['taskUUID']}/complete"]
    attack = [{**example_task(), "webhookURL": hook} for hook in hooks]
    # A cross-site "simple" request: text/plain, which a page may send without a preflight.
    page = {**HEADERS, "Content-Type": "text/plain", "Origin": "http://evil.example"}
    assert (await client.post("/v1", data=json.dumps(attack), headers=page)).status == 200
    await client.app[DISPATCHER].runner.idle()
    assert len(await (await client.get("/__mock/tasks")).json()) == 6 + len(attack)
    poll = {"taskType": "getResponse", "taskUUID": victim["taskUUID"]}
    (item,) = (await (await client.post("/v1", json=[poll], headers=other)).json())["data"]
    assert item["status"] == "processing"
    attempts = await (await client.get("/__mock/deliveries")).json()
    assert {attempt["url"] for attempt in attempts} == set(hooks)
    assert not any(attempt["status"] == 200 for attempt in attempts)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/__mock/reset"), ("POST", "/%5F%5Fmock/reset"), ("GET", "/__mock/tasks"), ("POST", "/v1")],
)
async def test_a_request_a_mock_sent_may_not_reach_its_api(client, method, path):
    # What a mock's webhook, upload or download carries, however its URL named the mock (a LAN address, a DNS name).
    response = await client.request(method, path, json={}, headers={**HEADERS, OUTBOUND_HEADER: "1"})
    assert await codes(response) == (403, ["forbiddenSelfRequest"])


async def test_a_request_a_mock_sent_may_fetch_its_files(client):
    upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    upload["media"] = with_inline_media(example_task())["inputs"]["audio"]
    media_url = (await (await client.post("/v1", json=[upload], headers=HEADERS)).json())["data"][0]["mediaURL"]
    marked = {OUTBOUND_HEADER: "1"}
    assert (await client.get(URL(media_url).path, headers=marked)).status == 200
    assert (await client.get("/__mock/media/speaker.mp4", headers=marked)).status == 200
