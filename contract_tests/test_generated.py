"""Requests generated from the schemas: every valid one is acknowledged, every broken one refused by name.

How many examples run is set by `--profile` (default, thorough); `--hypothesis-seed N` replays a run.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests.client import ApiClient
from contract_tests.conformance import Conformance
from contract_tests.payloads import PaidTask
from contract_tests.strategies import InvalidCase, Limits, invalid_tasks, valid_tasks
from contract_tests.targets import UNREACHABLE_MEDIA, MediaSet, Target


@pytest.fixture(scope="module")
def generated_tasks(target: Target, media: MediaSet | None) -> st.SearchStrategy[dict[str, Any]]:
    """Built once: a strategy built in each example is validated again each time, which took a third of the run."""
    if target.is_local:
        assert media is not None  # a local target always gets the suite's own media server
        return valid_tasks(st.just(media.video), st.just(media.audio))
    # Keep paid tasks short, and never hand a remote service callback URLs that point at this machine.
    audio = st.just(media.audio) if media else None
    return valid_tasks(audio=audio, limits=Limits(number_max=1.0)).map(
        lambda task: {k: v for k, v in task.items() if k not in ("webhookURL", "uploadEndpoint")}
    )


@pytest.fixture(scope="module")
def generated_breaks(target: Target) -> st.SearchStrategy[InvalidCase]:
    video, audio = (None, None) if target.is_local else (st.just(m) for m in UNREACHABLE_MEDIA)
    return invalid_tasks(video, audio)


@given(data=st.data())
def test_generated_valid_tasks_are_acknowledged(
    api: ApiClient,
    generated_tasks: st.SearchStrategy[dict[str, Any]],
    paid_task: PaidTask,
    conformance: Conformance,
    data: st.DataObject,
) -> None:
    task = paid_task(data.draw(generated_tasks, label="task"))
    task["taskUUID"] = str(uuid.uuid4())  # examples repeat while shrinking; a target refuses a UUID twice
    answer = api.submit(task)
    conformance.expect_accepted(task, answer)
    assert answer.status == 200, answer.body
    assert answer.body == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}


@given(data=st.data())
def test_generated_invalid_tasks_are_refused_naming_their_parameter(
    api: ApiClient,
    target: Target,
    generated_breaks: st.SearchStrategy[InvalidCase],
    conformance: Conformance,
    data: st.DataObject,
) -> None:
    case = data.draw(generated_breaks, label="case")
    if case.parameter != "taskUUID":
        case.task["taskUUID"] = str(uuid.uuid4())
    answer = api.post([case.task])
    conformance.expect_refused(case.parameter, answer)
    assert 400 <= answer.status < 500 and not answer.data, answer.body
    named = [error.get("parameter") for error in answer.errors]
    assert case.parameter in named, f"{case.kind} break of {case.parameter}, errors name {named}"
    if target.is_mock:
        assert named == [case.parameter]
