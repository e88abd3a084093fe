"""Faults as they are written (what each refusal says, where each range ends), what their answers say,
and rules used more than once."""

from __future__ import annotations

import asyncio
import random
import re

import pytest

from mock_server import faults
from mock_server.faults import (
    MAX_WAIT_SECONDS,
    CutAfter,
    DownloadStatus,
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
    WebhookReorder,
    download_plan,
    parse_fault,
)
from mock_server.timing import Distribution

KINDS = (
    "latency, status, rate_limit, hang, drop, fail_after_polls, ws_close, webhook_duplicate, webhook_delay, "
    "webhook_reorder, throttle, cut_after, download_status"
)
LOGNORMAL = "latency=MEDIAN; p95=MS takes a median above 0 and a p95 from it to 3.6e+06"
CODES = "timeoutProvider, processingFailed, downloadFailed, providerTimeout, contentPolicyViolation"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("explode=1", f"unknown fault 'explode'; known: {KINDS}"),
        ("latency", "fault 'latency' needs a number from 0 to 3.6e+06: latency=N"),
        ("latency=3600001", "fault 'latency' needs a number from 0 to 3.6e+06: latency=N"),
        ("hang", "fault 'hang' needs a number from 0 to 3600: hang=N"),
        ("hang=3600.5", "fault 'hang' needs a number from 0 to 3600: hang=N"),
        ("hang=soon", "fault 'hang' takes a number, not 'soon'"),
        ("webhook_delay", "fault 'webhook_delay' needs a number from 0 to 3.6e+06: webhook_delay=N"),
        ("webhook_delay=3600001", "fault 'webhook_delay' needs a number from 0 to 3.6e+06: webhook_delay=N"),
        ("status", "status takes one of 500, 502, 503"),
        ("status=404", "status takes one of 500, 502, 503"),
        ("fail_after_polls", "fault 'fail_after_polls' needs a number from 0 to 1e+06: fail_after_polls=N"),
        ("fail_after_polls=1000001", "fault 'fail_after_polls' needs a number from 0 to 1e+06: fail_after_polls=N"),
        ("fail_after_polls=1.5", f"fail_after_polls=N takes a whole N and code= one of {CODES}"),
        ("fail_after_polls=1; code=oops", f"fail_after_polls=N takes a whole N and code= one of {CODES}"),
        ("fail_after_polls=1; tries=2", f"fail_after_polls=N takes a whole N and code= one of {CODES}"),
        ("rate_limit=2", "rate_limit takes only '; retry_after=S'"),
        ("rate_limit; wait=2", "rate_limit takes only '; retry_after=S'"),
        ("rate_limit; retry_after=x", "retry_after takes a number of seconds"),
        ("rate_limit; retry_after=2=3", "retry_after takes a number of seconds"),
        ("rate_limit; retry_after=3601", "fault 'retry_after' needs a number from 0 to 3600: retry_after=N"),
        ("rate_limit; retry_after=nan", "fault 'retry_after' needs a number from 0 to 3600: retry_after=N"),
        ("drop=3", "fault 'drop' takes no value or parameters"),
        ("webhook_reorder; order=1", "fault 'webhook_reorder' takes no value or parameters"),
        ("latency=5; jitter=2", "latency=MS takes only '; p95=MS'"),
        ("latency=5; p95=x", "p95 takes a number of milliseconds"),
        ("latency=0; p95=5", LOGNORMAL),
        ("latency=5; p95=4", LOGNORMAL),
        ("latency=5; p95=3600001", LOGNORMAL),
        ("latency=5; p95=inf", LOGNORMAL),
        ("throttle=5; burst=1", "throttle=KBIT takes a rate from 1 to 1e+07 kbit/s"),
        ("throttle=0.5", "fault 'throttle' needs a number from 1 to 1e+07: throttle=N"),
        ("throttle=10000001", "fault 'throttle' needs a number from 1 to 1e+07: throttle=N"),
        ("cut_after", "fault 'cut_after' needs a number from 0 to 1.09951e+12: cut_after=N"),
        ("cut_after=1.5", "cut_after=N takes a whole number of bytes and no parameters"),
        ("cut_after=10; x=1", "cut_after=N takes a whole number of bytes and no parameters"),
        ("download_status=404", "download_status takes one of 500, 502, 503 and only '; attempts=N'"),
        ("download_status=500; tries=2", "download_status takes one of 500, 502, 503 and only '; attempts=N'"),
        ("download_status=500; attempts=x", "attempts takes a whole number"),
        ("download_status=500; attempts=0", "fault 'attempts' needs a number from 1 to 1000: attempts=N"),
        ("download_status=500; attempts=1001", "fault 'attempts' needs a number from 1 to 1000: attempts=N"),
        ("download_status=500; attempts=1.5", "attempts takes a whole number from 1 to 1000"),
    ],
)
def test_a_malformed_fault_is_refused_saying_exactly_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_fault(text)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("latency=0", Latency(0)),
        ("latency=3600000", Latency(MAX_WAIT_SECONDS * 1000)),
        ("hang=0", Hang(0)),
        ("hang=3600", Hang(MAX_WAIT_SECONDS)),
        ("webhook_delay=0", WebhookDelay(0)),
        ("webhook_delay=3600000", WebhookDelay(MAX_WAIT_SECONDS * 1000)),
        ("fail_after_polls=1000000", FailAfterPolls(1_000_000)),
        ("rate_limit; retry_after=0", RateLimit(0)),
        ("rate_limit; retry_after=3600", RateLimit(MAX_WAIT_SECONDS)),
        (" status = 503 ;", ServerStatus(503)),
        ("webhook_reorder", WebhookReorder()),
        ("latency=5; p95=5", Latency(5, 5)),
        ("latency=5; p95=3600000", Latency(5, MAX_WAIT_SECONDS * 1000)),
        ("throttle=1", Throttle(1)),
        ("throttle=10000000", Throttle(10_000_000)),
        ("cut_after=0", CutAfter(0)),
        ("cut_after=1099511627776", CutAfter(1 << 40)),
        ("download_status=502; attempts=1000", DownloadStatus(502, 1000)),
        ("download_status=503", DownloadStatus(503, 1)),
    ],
)
def test_the_ends_of_each_range_are_accepted(text, fault):
    assert parse_fault(text) == fault


async def test_request_faults_say_what_was_injected():
    answer = await ServerStatus(502).on_request()
    assert (answer.error.message, answer.error.status, answer.headers) == (
        "Injected fault: the server answered 502.",
        502,
        {},
    )
    limited = await RateLimit(0.5).on_request()
    assert limited.error.to_json()["message"] == "Injected fault: too many requests; retry after 0.5 s."


@pytest.mark.parametrize(("fault", "seconds"), [(Latency(1500), 1.5), (Latency(1), 0.001), (Hang(2.5), 2.5)])
async def test_waiting_faults_wait_exactly_as_long_as_written(monkeypatch, fault, seconds):
    waited = []

    async def sleep(delay):
        waited.append(delay)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    try:
        await fault.on_request()
    except DropConnection:
        assert isinstance(fault, Hang)
    assert waited == [seconds]


def test_a_rule_serialises_with_what_it_matches_and_the_uses_left():
    rule = FaultRule(RateLimit(2), task_uuid="t1", task_type="getResponse", times=3)
    assert rule.to_json() == {
        "fault": "rate_limit; retry_after=2",
        "taskUUID": "t1",
        "taskType": "getResponse",
        "times": 3,
        "namespace": "",
    }


def test_a_rule_used_several_times_counts_down_then_goes():
    plan = FaultPlan()
    rule = FaultRule(Latency(10), task_type="videoInference", times=3)
    forever = FaultRule(FailAfterPolls(1), task_type="videoInference")
    plan.add_rule(rule)
    plan.add_rule(forever)
    task = {"taskType": "videoInference", "taskUUID": "t"}
    left = []
    for _ in range(4):
        assert plan.task_faults(task) == [FailAfterPolls(1)]
        left.append((plan.request_faults([5, task]), [r.to_json()["times"] for r in plan.rules()]))
    assert left == [
        ([Latency(10)], [2, None]),
        ([Latency(10)], [1, None]),
        ([Latency(10)], [None]),
        ([], [None]),
    ]


async def test_a_latency_with_a_p95_waits_a_time_drawn_from_that_distribution(monkeypatch):
    waited = []

    async def sleep(delay):
        waited.append(delay)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    await Latency(100, 400).on_request(random.Random(3))
    assert waited == [min(MAX_WAIT_SECONDS, Distribution(0.1, 0.4).draw(random.Random(3)))]


def test_the_shortest_cut_of_a_download_wins():
    assert download_plan([]).cut_after is None
    assert download_plan([CutAfter(10)]).cut_after == 10
    assert download_plan([CutAfter(10), CutAfter(5), CutAfter(7)]).cut_after == 5


@pytest.mark.parametrize(("rules", "chaos", "may"), [(0, 0.0, False), (1, 0.0, True), (0, 0.5, True), (1, 0.5, True)])
def test_requests_may_get_faults_they_did_not_ask_for_only_with_a_rule_or_chaos(rules, chaos, may):
    plan = FaultPlan(chaos=chaos)
    for _ in range(rules):
        plan.add_rule(FaultRule(Latency(10)))
    assert plan.may_fault_requests() is may


def test_attempts_are_counted_per_file_and_the_least_recent_files_forgotten(monkeypatch):
    monkeypatch.setattr(faults, "MAX_COUNTED_FILES", 3)
    plan = FaultPlan()
    counted = [plan.count_attempt(name) for name in ("a", "b", "c", "a", "d", "b", "a", "c")]
    # "d" makes four files: "b", the least recently counted, is forgotten; then "b" makes "c" go.
    assert counted == [1, 1, 1, 2, 1, 1, 3, 1]
