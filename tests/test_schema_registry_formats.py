"""Formats, steps and the order of segment times: the explaining validator and the fast one must give the
same verdict, and on the cases where only a `format` (not a pattern) decides.

Both validators are built once per process (functools.cache); the fixture below builds them again in each
test, so that the test that checks them is the one that built them (see docs/dev/mutation-testing.md)."""

from __future__ import annotations

import pytest

from contract_tests.payloads import example_task, with_parameter
from mock_server.schema_registry import fast_validator, is_step_multiple, validator

TASK = "video-inference-task.json"
SEGMENTS = "providerSettings.sync.segments"
UPPER_CASE_UUID = "9A4E6F1C-2B3D-4E5F-8A7B-0C1D2E3F4A5B"
UUID_WITHOUT_DASHES = "9a4e6f1c2b3d4e5f8a7b0c1d2e3f4a5b"


@pytest.fixture(autouse=True)
def freshly_built_validators():
    validator.cache_clear()
    fast_validator.cache_clear()


def verdicts(name: str, instance) -> tuple[bool, bool]:
    return validator(name).is_valid(instance), fast_validator(name).is_valid(instance)


@pytest.mark.parametrize("parameter", ["webhookURL", "uploadEndpoint"])
@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://example.com/hook?x=1", True),
        ("http://127.0.0.1:8080/a%20b", True),
        ("http://a b/hook", False),  # passes the pattern `^https?://`, not the uri format
        ("http://exa mple.com", False),
        ('http://example.com/"quoted"', False),
        ("ftp://example.com/x", False),
    ],
)
def test_the_two_validators_agree_on_urls_and_only_the_format_refuses_some(parameter, url, valid):
    assert verdicts(TASK, with_parameter(example_task(), parameter, url)) == (valid, valid)


@pytest.mark.parametrize(
    ("name", "instance", "valid"),
    [
        ("get-response-task.json", {"taskType": "getResponse", "taskUUID": UPPER_CASE_UUID}, True),
        ("get-response-task.json", {"taskType": "getResponse", "taskUUID": UUID_WITHOUT_DASHES}, False),
        ("get-response-task.json", {"taskType": "getResponse", "taskUUID": 5}, False),
        # Python's `$` matches before a final newline, so the pattern lets this through: only the format refuses.
        ("get-response-task.json", {"taskType": "getResponse", "taskUUID": UPPER_CASE_UUID + "\n"}, False),
        (
            "authentication-task.json",
            {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": "x"},
            False,
        ),
    ],
)
def test_the_two_validators_agree_on_uuids(name, instance, valid):
    assert verdicts(name, instance) == (valid, valid)


@pytest.mark.parametrize(
    ("segment", "valid"),
    [
        ({"startTime": 0, "endTime": 0.01}, True),
        ({"startTime": 1.5, "endTime": 1.5}, False),
        ({"startTime": 2, "endTime": 1}, False),
        ({"startTime": 0.07, "endTime": 0.29}, True),
        ({"startTime": 0.07, "endTime": 0.295}, False),
        ({"startTime": "0", "endTime": 1}, False),
        ({"startTime": 0, "endTime": True}, False),
    ],
)
def test_the_two_validators_agree_on_segment_times(segment, valid):
    task = with_parameter(example_task(), SEGMENTS, [{**segment, "audio": "a"}])
    assert verdicts(TASK, task) == (valid, valid)


def test_an_end_not_after_the_start_is_explained_at_the_end_time():
    task = with_parameter(example_task(), SEGMENTS, [{"startTime": 1.5, "endTime": 1.5, "audio": "a"}])
    (error,) = validator(TASK).iter_errors(task)
    assert (error.validator, list(error.absolute_path), error.instance, error.message) == (
        "x-greaterThan",
        ["providerSettings", "sync", "segments", 0, "endTime"],
        1.5,
        "greater than startTime (1.5)",
    )


@pytest.mark.parametrize(
    ("value", "step", "multiple"),
    [(0.6, 0.3, True), (0.9, 0.3, True), (0.7, 0.3, False), (4.5, 1.5, True), (4.4, 1.5, False), (0.75, 0.25, True)],
)
def test_steps_other_than_hundredths_are_exact_too(value, step, multiple):
    assert is_step_multiple(value, step) is multiple


OVERLAP = "greater than or equal to the end of the window before it ({}): windows must not overlap"


def windows(*pairs) -> list:
    return [{"startTime": start, "endTime": end, "audio": "a"} for start, end in pairs]


@pytest.mark.parametrize(
    ("segments", "overlaps"),
    [
        (windows((0, 1), (1, 2)), []),  # windows may touch
        (windows((3, 4), (0, 1), (1, 3)), []),  # in any order
        (windows((0, 2), (1.5, 3)), [(1, 1.5, 2)]),
        (windows((5, 6), (0, 5.5)), [(0, 5, 5.5)]),  # named by the later start, not by the order written
        (windows((0, 10), (1, 2), (3, 4)), [(1, 1, 10), (2, 3, 10)]),  # the latest end so far, not the last one
        (windows((0, 10), (1, 2), (10, 11)), [(1, 1, 10)]),
        # Items that are no window are the type check's to refuse; the windows among them are still compared.
        ([5, *windows((0, 2)), {"startTime": 1, "endTime": "3", "audio": "a"}, *windows((1, 3))], [(3, 1, 2)]),
    ],
)
def test_overlapping_windows_are_explained_at_the_start_of_each_and_refused_by_both(segments, overlaps):
    task = with_parameter(example_task(), SEGMENTS, segments)
    found = [
        (list(error.absolute_path), error.instance, error.message)
        for error in validator(TASK).iter_errors(task)
        if error.validator == "x-disjointWindows"
    ]
    assert found == [
        (["providerSettings", "sync", "segments", index, "startTime"], start, OVERLAP.format(end))
        for index, start, end in overlaps
    ]
    valid = not overlaps and all(isinstance(s, dict) and s["endTime"] != "3" for s in segments)
    assert verdicts(TASK, task) == (valid, valid)


USAGE = {
    "taskType": "accountManagement",
    "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b",
    "operation": "getUsageErrors",
}
NO_DATE = "a real calendar date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    ("start", "end", "problems"),
    [
        ("2026-11-01", "2026-12-01", []),  # 30 days: the longest window
        ("2026-11-01", "2026-11-01", []),
        ("2026-11-01", None, []),
        ("2026-11-01", "2026-12-02", [("endDate", "at most 30 days after startDate (2026-11-01)")]),
        ("2026-11-02", "2026-11-01", [("endDate", "not before startDate (2026-11-02)")]),
        ("2026-02-30", "2026-03-01", [("startDate", NO_DATE)]),
        ("2026-02-30", "2026-02-31", [("startDate", NO_DATE), ("endDate", NO_DATE)]),
        (None, "2026-02-30", [("endDate", NO_DATE)]),
        # A time with no zone is UTC; one with a zone is compared as the instant it names.
        ("2026-11-01T12:00:00+05:00", "2026-12-01T07:00:00Z", []),
        (
            "2026-11-01T12:00:00+05:00",
            "2026-12-01T07:00:01Z",
            [("endDate", "at most 30 days after startDate (2026-11-01T12:00:00+05:00)")],
        ),
        ("2026-11-01T10:00", "2026-11-01T10:30+01:00", [("endDate", "not before startDate (2026-11-01T10:00)")]),
        ("2026-11-01T10:00", "2026-11-01T11:30+01:00", []),
    ],
)
def test_a_usage_window_is_real_dates_in_order_and_at_most_30_days_for_both_validators(start, end, problems):
    task = {**USAGE, **({"startDate": start} if start else {}), **({"endDate": end} if end else {})}
    found = [
        (list(e.absolute_path), e.instance, e.message)
        for e in validator("account-management-task.json").iter_errors(task)
    ]
    assert found == [([name], task[name], wanted) for name, wanted in problems]
    assert verdicts("account-management-task.json", task) == (not problems, not problems)
