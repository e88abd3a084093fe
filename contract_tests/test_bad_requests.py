"""Bodies that are not a task array get a clear error in the errors envelope, never a server error."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.client import ApiClient
from contract_tests.targets import Target


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (b"", None),
        (b"   ", None),
        (b"not json", None),
        (b"[{", None),
        (b"[NaN]", None),
        (b"[Infinity]", None),
        (b"\xff\xfe\x00", None),
        (b"{}", None),
        (b'{"taskType": "videoInference"}', None),
        (b"[]", None),
        (b'"tasks"', None),
        (b"null", None),
        (b"[1]", "[0]"),
        (b'[["nested"]]', "[0]"),
        (b"[" * 100_000 + b"]" * 100_000, None),
    ],
    ids=lambda v: repr(v[:24]) if isinstance(v, bytes) else repr(v),
)
def test_a_body_that_is_not_a_task_array_is_refused(
    api: ApiClient, target: Target, body: bytes, parameter: str | None
) -> None:
    answer = api.post_raw(body)
    assert answer.status == 400 and not answer.data
    assert answer.errors[0]["message"]
    if target.is_mock:
        (error,) = answer.errors
        assert (error["code"], error.get("parameter")) == ("invalidRequestBody", parameter)


def test_a_task_without_a_task_type_is_refused(api: ApiClient, target: Target) -> None:
    answer = api.post([{"taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b"}])
    assert answer.status == 400
    assert [e["parameter"] for e in answer.errors] == ["taskType"]
    if target.is_mock:
        assert [e["code"] for e in answer.errors] == ["missingTaskType"]


@pytest.mark.parametrize("task_type", ["imageInference", "", 7, None])
def test_an_unknown_task_type_is_refused(api: ApiClient, target: Target, task_type: Any) -> None:
    answer = api.post([{"taskType": task_type, "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b"}])
    assert answer.status == 400
    assert [e["parameter"] for e in answer.errors] == ["taskType"]
    if target.is_mock:
        assert [e["code"] for e in answer.errors] == ["unsupportedTaskType"]
