"""--processing-time: distributions from their written form, from a recording, and drawn reproducibly."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.app import create_app
from mock_server.cli import parse_settings
from mock_server.config import Settings
from mock_server.http.app_keys import DISPATCHER
from mock_server.recording import timestamp
from mock_server.timing import MAX_SECONDS, Distribution, parse_distribution
from tests.test_dispatcher import FakeClock

HEADERS = {"Authorization": "Bearer key"}


@pytest.mark.parametrize(
    ("text", "distribution"),
    [
        ("40", Distribution(40, 40)),
        ("0", Distribution(0, 0)),  # the boundaries of a fixed time
        ("86400", Distribution(86_400, 86_400)),
        ("lognormal:median=40,p95=110", Distribution(40, 110)),
        ("lognormal: p95=110 , median=40", Distribution(40, 110)),
        ("lognormal:median=0.001,p95=0.001", Distribution(0.001, 0.001)),
        ("lognormal:median=86400,p95=86400", Distribution(86_400, 86_400)),
    ],
)
def test_distributions_are_read_from_their_written_form_and_back(text, distribution):
    assert parse_distribution(text) == distribution
    assert parse_distribution(distribution.describe()) == distribution


@pytest.mark.parametrize(
    "text",
    [
        "",
        "soon",
        "-0.001",
        "86400.001",
        "nan",
        "inf",
        "lognormal:",
        "lognormal:median=40",
        "lognormal:p95=40",
        "lognormal:median=0,p95=10",
        "lognormal:median=-1,p95=10",
        "lognormal:median=40,p95=39.999",
        "lognormal:median=40,p95=86400.001",
        "lognormal:median=40,p95=110,sigma=2",
        "lognormal:median=40,median=41,p95=110",
        "lognormal:median=x,p95=110",
        "lognormal:median=40,p95=nan",
        "normal:mean=40",
        "from:/nonexistent/folder",
    ],
)
def test_a_malformed_distribution_is_refused_saying_what_is_wrong(text):
    with pytest.raises(ValueError, match=r"\S"):
        parse_distribution(text)


def test_the_command_line_refuses_a_bad_distribution_with_exit_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_settings(["--processing-time", "lognormal:median=40,p95=20"], environ={})
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--processing-time" in error and "p95 must be at least the median" in error
    settings = parse_settings(["--processing-time", "lognormal:median=40,p95=110"], environ={})
    assert settings.processing_time == Distribution(40, 110)
    assert parse_settings([], environ={}).processing_time is None


def test_a_lognormal_has_the_median_and_p95_asked_for_and_a_seed_repeats_it():
    distribution = Distribution(40, 110)
    rng = random.Random(8)
    draws = [distribution.draw(rng) for _ in range(20_000)]
    ordered = sorted(draws)
    assert statistics.median(ordered) == pytest.approx(40, rel=0.05)
    assert ordered[int(len(ordered) * 0.95)] == pytest.approx(110, rel=0.05)
    assert min(draws) > 0 and max(draws) <= MAX_SECONDS
    first, second = random.Random(3), random.Random(3)
    assert [distribution.draw(first) for _ in range(50)] == [distribution.draw(second) for _ in range(50)]
    assert {Distribution(12, 12).draw(random.Random(seed)) for seed in range(20)} == {12}


def test_a_draw_is_never_longer_than_the_bound():
    wide = Distribution(86_000, 86_400)
    assert max(wide.draw(random.Random(1)) for _ in range(2000)) <= MAX_SECONDS


def write_recording(folder: Path, durations: list[float], poll_every: float = 1.0) -> None:
    """A recording of one task per duration: submitted, polled every `poll_every` s, done after `duration`."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, duration in enumerate(durations):
        task_uuid = f"00000000-0000-4000-8000-{index:012d}"
        start = 1_750_000_000.0 + index * 1000
        exchanges = [
            _exchange(start, [{"taskType": "videoInference", "taskUUID": task_uuid}], [{"taskUUID": task_uuid}])
        ]
        polled = 0.0
        while True:
            polled += poll_every
            status = "success" if polled >= duration else "processing"
            item = {"taskType": "videoInference", "taskUUID": task_uuid, "status": status}
            exchanges.append(_exchange(start + polled, [{"taskType": "getResponse", "taskUUID": task_uuid}], [item]))
            if status == "success":
                break
        document = {"case": f"task {index}", "outcome": "passed", "exchanges": exchanges}
        (folder / f"task-{index}.json").write_text(json.dumps(document))


def _exchange(at: float, request: list[dict], data: list[dict]) -> dict:
    return {
        "at": timestamp(at),
        "request": {"method": "POST", "headers": {}, "body": request},
        "response": {"status": 200, "headers": {}, "body": {"data": data}},
    }


def test_a_distribution_is_fitted_to_the_processing_times_a_recording_shows(tmp_path):
    durations = [20.0, 30.0, 40.0, 50.0, 80.0]
    write_recording(tmp_path, durations)
    fitted = parse_distribution(f"from:{tmp_path}")
    logs = [math.log(d) for d in durations]
    assert fitted.median == pytest.approx(math.exp(statistics.fmean(logs)), abs=0.001)
    assert fitted.p95 == pytest.approx(math.exp(statistics.fmean(logs) + 1.6448536 * statistics.pstdev(logs)), abs=0.01)
    single = tmp_path / "single"
    write_recording(single, [35.0], poll_every=5)  # seen done at the first poll at or past 35 s
    assert parse_distribution(f"from:{single}") == Distribution(35, 35)


def test_a_recording_without_a_timed_task_is_refused(tmp_path):
    (tmp_path / "refusal.json").write_text(json.dumps({"exchanges": [_exchange(0, [{"taskType": "x"}], [])]}))
    untimed = tmp_path / "untimed"
    write_recording(untimed, [10.0])
    for path in untimed.glob("*.json"):
        document = json.loads(path.read_text())
        for exchange in document["exchanges"]:
            del exchange["at"]
        path.write_text(json.dumps(document))
    odd = tmp_path / "odd"  # a poll whose taskUUID is no string: read past, never a traceback
    odd.mkdir()
    polled = _exchange(5, [{"taskType": "getResponse"}], [{"taskUUID": ["x"], "status": "success"}])
    (odd / "odd.json").write_text(json.dumps({"exchanges": [polled]}))
    for folder in (tmp_path, untimed, odd):
        with pytest.raises(ValueError, match="no task in these recordings"):
            parse_distribution(f"from:{folder}")


async def test_results_are_ready_after_drawn_times_reproducibly_from_the_seed(aiohttp_client):
    async def ready_offsets(seed: int) -> list[float]:
        clock = FakeClock()
        settings = Settings(processing_time=Distribution(40, 110), seed=seed, quiet=True)
        client = await aiohttp_client(create_app(settings, clock=clock))
        task = {**with_inline_media(example_task()), "numberResults": 3}
        await client.post("/v1", json=[task], headers=HEADERS)
        dispatcher = client.app[DISPATCHER]
        await dispatcher.runner.idle()
        stored = dispatcher.store.get(task["taskUUID"])
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        clock.now = stored.results[0].ready_at - 0.001
        assert {
            item["status"] for item in (await (await client.post("/v1", json=poll, headers=HEADERS)).json())["data"]
        } == {"processing"}
        clock.now = stored.results[0].ready_at
        statuses = [
            item["status"] for item in (await (await client.post("/v1", json=poll, headers=HEADERS)).json())["data"]
        ]
        assert statuses[0] == "success" and statuses.count("success") == 1
        return [result.ready_at - stored.created_at for result in stored.results]

    first = await ready_offsets(5)
    assert first == await ready_offsets(5)
    assert first != await ready_offsets(6)
    assert first == sorted(first) and first[0] > 0  # one by one, each a draw after the one before


async def test_a_seed_set_through_the_control_api_repeats_the_drawn_times(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_time=Distribution(40, 110), quiet=True)))
    dispatcher = client.app[DISPATCHER]

    async def drawn_after_seeding() -> list[float]:
        assert (await client.post("/__mock/seed", json={"seed": 7})).status == 200
        task = {**with_inline_media(example_task()), "numberResults": 2}
        await client.post("/v1", json=[task], headers=HEADERS)
        await dispatcher.runner.idle()
        stored = dispatcher.store.get(task["taskUUID"])
        return [result.ready_at - stored.created_at for result in stored.results]

    assert await drawn_after_seeding() == await drawn_after_seeding()
