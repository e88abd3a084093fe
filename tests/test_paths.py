from __future__ import annotations

import pytest

from mock_server.paths import format_path, leaf_name, parse_path, without_indexes

CASES = [
    ([], ""),
    (["ttl"], "ttl"),
    (["providerSettings", "sync", "segments", 0, "endTime"], "providerSettings.sync.segments[0].endTime"),
    ([3, "taskType"], "[3].taskType"),
    (["a", 1, 2, "b"], "a[1][2].b"),
]


@pytest.mark.parametrize(("parts", "text"), CASES)
def test_paths_read_as_the_model_page_writes_them(parts, text):
    assert format_path(parts) == text
    assert parse_path(text) == parts


def test_indexes_are_dropped_for_grouping():
    assert without_indexes("providerSettings.sync.segments[12].endTime") == "providerSettings.sync.segments[].endTime"


def test_the_leaf_name_is_the_last_named_part():
    assert leaf_name(["providerSettings", "sync", "segments", 0]) == "segments"
    assert leaf_name([0]) == "task"


@pytest.mark.parametrize(("text", "parts"), [("Y[a]", ["Y[a]"]), ("a[1]b", ["a[1]b"]), ("p.[2][x]", ["p", "[2][x]"])])
def test_brackets_that_are_no_index_are_part_of_the_name(text, parts):
    assert parse_path(text) == parts
