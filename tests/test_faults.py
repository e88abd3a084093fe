from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from mock_server.faults import (
    FAULT_KINDS,
    CutAfter,
    DeliveryPlan,
    DownloadPlan,
    DownloadStatus,
    Drop,
    DropConnection,
    FailAfterPolls,
    FaultPlan,
    FaultRule,
    Hang,
    Latency,
    RateLimit,
    ServerStatus,
    Throttle,
    WebhookDelay,
    WebhookDuplicate,
    WebhookReorder,
    WebSocketClose,
    delivery_plan,
    download_plan,
    parse_fault,
)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("latency=250", Latency(250)),
        ("latency=200; p95=800", Latency(200, 800)),
        ("latency=200; p95=200", Latency(200, 200)),
        ("latency=0.001; p95=3600000", Latency(0.001, 3_600_000)),
        ("status=502", ServerStatus(502)),
        ("rate_limit; retry_after=3", RateLimit(3)),
        ("rate_limit", RateLimit(1)),
        ("hang=2.5", Hang(2.5)),
        ("drop", Drop()),
        ("fail_after_polls=2; code=downloadFailed", FailAfterPolls(2, "downloadFailed")),
        ("fail_after_polls=0", FailAfterPolls(0, "processingFailed")),
        ("ws_close", WebSocketClose()),
        ("webhook_duplicate", WebhookDuplicate()),
        ("webhook_delay=500", WebhookDelay(500)),
        ("webhook_reorder", WebhookReorder()),
        ("throttle=800", Throttle(800)),
        ("throttle=10000000", Throttle(10_000_000)),
        ("throttle=1", Throttle(1)),
        ("cut_after=0", CutAfter(0)),
        ("cut_after=4096", CutAfter(4096)),
        ("download_status=502", DownloadStatus(502, 1)),
        ("download_status=503; attempts=1000", DownloadStatus(503, 1000)),
    ],
)
def test_faults_are_read_from_their_written_form_and_back(text, fault):
    assert parse_fault(text) == fault
    assert parse_fault(fault.describe()) == fault


def test_every_kind_is_registered_under_its_name():
    assert set(FAULT_KINDS) == {
        "latency", "status", "rate_limit", "hang", "drop", "fail_after_polls",
        "ws_close", "webhook_duplicate", "webhook_delay", "webhook_reorder",
        "throttle", "cut_after", "download_status",
    }  # fmt: skip
    assert {name for name, kind in FAULT_KINDS.items() if kind.is_download_fault} == {
        "throttle", "cut_after", "download_status",
    }  # fmt: skip
    assert {name for name, kind in FAULT_KINDS.items() if kind.is_request_fault} == {
        "latency", "status", "rate_limit", "hang", "drop",
    }  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "explode",
        "latency",
        "latency=-1",
        "latency=nan",
        "latency=inf",
        "latency=1e999",
        "hang=soon",
        "hang",
        "hang=3601",
        "status=404",
        "status",
        "fail_after_polls",
        "fail_after_polls=1.5",
        "fail_after_polls=1; code=oops",
        "rate_limit; retry_after=nan",
        "rate_limit; retry_after=x",
        "rate_limit; wait=2",
        "drop=3",
        "ws_close; x=1",
        "webhook_delay",
        "latency=0; p95=10",
        "latency=200; p95=199",
        "latency=200; p95=3600001",
        "latency=200; p95=nan",
        "latency=200; p95=x",
        "latency=200; p50=300",
        "throttle",
        "throttle=0",
        "throttle=0.99",
        "throttle=10000001",
        "throttle=8; x=1",
        "cut_after",
        "cut_after=-1",
        "cut_after=2.5",
        "cut_after=1099511627777",
        "download_status",
        "download_status=404",
        "download_status=502; attempts=0",
        "download_status=502; attempts=1001",
        "download_status=502; attempts=1.5",
        "download_status=502; attempts=x",
        "download_status=502; times=2",
    ],
)
def test_malformed_faults_say_what_is_wrong(text):
    with pytest.raises(ValueError, match=r"\S"):
        parse_fault(text)


async def test_request_faults_answer_wait_or_drop():
    answer = await ServerStatus(503).on_request()
    assert (answer.error.code, answer.error.status) == ("serverError", 503)
    limited = await RateLimit(2.5).on_request()
    assert (limited.error.code, limited.error.status, limited.headers) == (
        "rateLimitExceeded",
        429,
        {"Retry-After": "2.5"},
    )
    started = asyncio.get_running_loop().time()
    assert await Latency(50).on_request() is None
    assert asyncio.get_running_loop().time() - started >= 0.045
    for dropping in (Drop(), Hang(0)):
        with pytest.raises(DropConnection):
            await dropping.on_request()


async def test_a_latency_with_a_p95_draws_its_wait_reproducibly(monkeypatch):
    waits: list[float] = []

    async def noted(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", noted)
    fault = Latency(200, 800)
    for _ in range(4000):
        await fault.on_request(random.Random(len(waits)))
    ordered = sorted(waits)
    assert ordered[len(ordered) // 2] == pytest.approx(0.2, rel=0.08)
    assert ordered[int(len(ordered) * 0.95)] == pytest.approx(0.8, rel=0.1)
    first, second = FaultPlan(seed=3), FaultPlan(seed=1)
    second.seed(3)
    waits.clear()
    for plan in (first, second):
        for _ in range(20):
            await fault.on_request(plan.rng)
    assert waits[:20] == waits[20:] and len(set(waits)) == 20
    waits.clear()
    await Latency(250).on_request(random.Random(1))
    await Latency(2_000_000, 3_600_000).on_request(random.Random(2))
    assert waits[0] == 0.25 and waits[1] <= 3600


def test_a_task_fails_on_the_poll_its_fault_names():
    fault = FailAfterPolls(2, "timeoutProvider")
    assert fault.on_poll(1) is None
    error = fault.on_poll(2)
    assert (error.code, error.status) == ("timeoutProvider", 400)
    assert "fail_after_polls=2; code=timeoutProvider" in error.message
    assert fault.on_poll(3) is not None


def test_delivery_faults_shape_the_plan():
    assert delivery_plan(()) == DeliveryPlan(1, 0.0, False)
    plan = delivery_plan((WebhookDuplicate(), WebhookDelay(250), WebhookReorder(), Latency(10)))
    assert plan == DeliveryPlan(copies=2, delay=0.25, last_first=True)
    assert WebSocketClose().closes_websocket and not Drop().closes_websocket


def test_download_faults_shape_the_download_plan():
    assert download_plan([]) == DownloadPlan()
    plan = download_plan([Throttle(800), Throttle(1600), CutAfter(10), CutAfter(5), DownloadStatus(503, 2), Latency(1)])
    assert plan == DownloadPlan(failed_status=503, failed_attempts=2, bytes_per_second=100_000, cut_after=5)


def test_download_rules_are_taken_at_the_download_not_at_the_submission():
    plan = FaultPlan()
    plan.add_rule(FaultRule(CutAfter(5), task_uuid="t1", times=1))
    submit = {"taskType": "videoInference", "taskUUID": "t1"}
    assert plan.task_faults(submit) == [] and plan.request_faults([submit]) == []
    assert plan.download_faults(submit) == [CutAfter(5)]
    assert plan.download_faults(submit) == []  # used up


def test_attempts_are_counted_per_file_and_forgotten_on_clear():
    plan = FaultPlan()
    assert [plan.count_attempt("a"), plan.count_attempt("a"), plan.count_attempt("b")] == [1, 2, 1]
    plan.clear("some-namespace")
    assert plan.count_attempt("a") == 3
    plan.clear()
    assert plan.count_attempt("a") == 1


def test_chaos_draws_each_download_fault():
    plan = FaultPlan(chaos=0.5, seed=4)
    hit = [faults[0] for faults in (plan.download_faults({"taskType": "mediaStorage"}) for _ in range(600)) if faults]
    assert 0.4 < len(hit) / 600 < 0.6
    assert {fault.kind for fault in hit} == {"throttle", "cut_after", "download_status"}


def test_rules_apply_to_matching_tasks_the_number_of_times_asked():
    plan = FaultPlan()
    plan.add_rule(FaultRule(ServerStatus(500), task_type="getResponse", times=2))
    plan.add_rule(FaultRule(WebhookDuplicate(), task_uuid="t1"))
    poll, submit = {"taskType": "getResponse", "taskUUID": "t1"}, {"taskType": "videoInference", "taskUUID": "t1"}
    assert plan.request_faults([submit]) == []
    assert plan.request_faults([poll]) == [ServerStatus(500)]
    assert plan.task_faults(submit) == [WebhookDuplicate()]
    assert plan.request_faults([poll]) == [ServerStatus(500)]
    assert plan.request_faults([poll]) == []  # used up, and dropped
    assert [rule.fault for rule in plan.rules()] == [WebhookDuplicate()]
    assert plan.task_faults({"taskType": "videoInference", "taskUUID": "t2"}) == []
    plan.clear()
    assert plan.rules() == []


def test_chaos_draws_each_request_fault_at_the_rate_asked():
    plan = FaultPlan(chaos=0.3, seed=5)
    drawn = [plan.request_faults([]) for _ in range(4000)]
    hit = [faults[0] for faults in drawn if faults]
    assert 0.27 < len(hit) / len(drawn) < 0.33
    kinds = Counter(fault.kind for fault in hit)
    assert set(kinds) == {"latency", "status", "rate_limit", "drop"}
    assert min(kinds.values()) > len(hit) / 4 * 0.8
    latencies = [fault.milliseconds for fault in hit if isinstance(fault, Latency)]
    assert min(latencies) >= 50 and max(latencies) <= 500
    assert {fault.status for fault in hit if isinstance(fault, ServerStatus)} == {500, 502, 503}
    assert {fault.retry_after for fault in hit if isinstance(fault, RateLimit)} == {1.0}


def test_no_chaos_draws_nothing_and_a_seed_repeats_the_draws():
    assert all(FaultPlan(chaos=0.0).request_faults([]) == [] for _ in range(100))
    first, second = FaultPlan(chaos=0.5, seed=9), FaultPlan(chaos=0.5, seed=1)
    second.seed(9)
    assert [first.request_faults([]) for _ in range(50)] == [second.request_faults([]) for _ in range(50)]
