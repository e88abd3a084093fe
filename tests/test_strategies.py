from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from contract_tests import strategies
from mock_server.schema_registry import fast_validator, schemas, validator

TWO_DECIMALS = re.compile(r"^-?\d+(\.\d{1,2})?$")


def numbers(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, float):
        yield value


@settings(max_examples=300)
@given(strategies.valid_tasks())
def test_valid_tasks_keep_every_constraint_with_exact_steps(task):
    assert validator("video-inference-task.json").is_valid(task)
    assert fast_validator("video-inference-task.json").is_valid(task)
    assert all(TWO_DECIMALS.match(repr(n)) for n in numbers(task)), task


@settings(max_examples=600)
@given(strategies.invalid_tasks())
def test_invalid_tasks_break_exactly_one_rule(case):
    problems = list(validator("video-inference-task.json").iter_errors(case.task))
    assert len(problems) == 1
    assert case.kind in {"type", "range", "enum", "format", "required", "step", "together", "order", "unknown"}


def test_every_kind_of_break_is_found_in_the_schema():
    breaks = strategies.schema_breaks()
    kinds = Counter(b.kind for b in breaks)
    text = str(schemas()["video-inference-task.json"])
    assert kinds["range"] == text.count("'minimum'") + text.count("'maximum'")
    assert kinds["step"] == text.count("'multipleOf'")
    assert kinds["together"] == 2 and kinds["order"] == 2
    assert kinds["unknown"] == text.count("'additionalProperties': False")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("outputQuality",), 20),
        (("outputQuality",), 99),
        (("numberResults",), 1),
        (("numberResults",), 4),
        (("ttl",), 60),
        (("providerSettings", "sync", "temperature"), 0.0),
        (("providerSettings", "sync", "temperature"), 1.0),
    ],
)
def test_boundaries_are_reached(path, value):
    # The parameter's own strategy, the one valid_tasks() draws it from: a boundary must come up early.
    pointer = "".join(f"/properties/{key}" for key in path)
    parameter = strategies.from_schema(f"video-inference-task.json#{pointer}")
    assert find(parameter, lambda drawn: drawn == value, settings=settings(max_examples=50, database=None)) == value


@given(
    st.one_of(
        strategies.acknowledgments(extra_fields=True).map(lambda body: ("response-body.json", body)),
        strategies.processing_items(extra_fields=True).map(lambda item: ("result-item.json", item)),
        strategies.success_items(extra_fields=True).map(lambda item: ("result-item.json", item)),
        strategies.error_bodies(extra_fields=True).map(lambda body: ("response-body.json", body)),
        strategies.media_storage_answers(extra_fields=True).map(lambda body: ("response-body.json", body)),
        strategies.account_details(extra_fields=True).map(lambda body: ("response-body.json", body)),
        strategies.task_details(extra_fields=True).map(lambda body: ("response-body.json", body)),
    )
)
def test_answers_for_client_fuzzing_are_schema_valid(named):
    name, value = named
    assert validator(name).is_valid(value), value


def test_extra_fields_show_up_when_asked_for():
    known = set(schemas()["result-item.json"]["$defs"]["success"]["properties"])
    item = find(strategies.success_items(extra_fields=True), lambda item: set(item) - known)
    assert set(item) - known
    assert not find(strategies.success_items(), lambda item: True).keys() - known


@given(strategies.result_sequences())
def test_results_finish_one_by_one_and_stay_finished(bodies):
    finished_before = 0
    for body in bodies:
        assert validator("response-body.json").is_valid(body)
        statuses = [item["status"] for item in body["data"]]
        finished = statuses.count("success")
        assert statuses == ["success"] * finished + ["processing"] * (len(statuses) - finished)
        assert finished >= finished_before
        finished_before = finished
    assert finished_before == len(bodies[-1]["data"])
    assert len({item["taskUUID"] for body in bodies for item in body["data"]}) == 1
