from __future__ import annotations

from contract_tests.client import Answer
from contract_tests.conformance import Conformance, leaf_parameters

ACK = Answer(200, {"data": [{"taskType": "videoInference", "taskUUID": "t"}]})


def refusal(parameter):
    return Answer(400, {"errors": [{"code": "x", "message": "m", "parameter": parameter}]})


def test_parameters_are_counted_without_indexes():
    task = {"a": 1, "b": {"c": [{"d": 1}, {"e": 2}]}, "f": []}
    assert leaf_parameters(task) == ["a", "b.c[].d", "b.c[].e", "f"]


def test_surprises_are_counted():
    table = Conformance()
    table.expect_accepted({"ttl": 60}, ACK)
    table.expect_accepted({"ttl": 59}, refusal("ttl"))
    table.expect_refused("ttl", refusal("ttl"))
    table.expect_refused("ttl", refusal("numberResults"))
    table.expect_refused("ttl", ACK)
    counts = table.counts["ttl"]
    assert (counts["tried"], counts["accepted"], counts["refused"], counts["unexpected"]) == (5, 2, 3, 3)
    assert table.table().splitlines()[1].split() == ["ttl", "5", "2", "3", "3"]


def test_rows_from_another_run_add_up():
    one, two = Conformance(), Conformance()
    one.expect_accepted({"a": 1}, ACK)
    two.expect_accepted({"a": 1}, ACK)
    two.expect_refused("b", refusal("c"))
    one.add_rows(two.rows())
    assert one.rows() == [
        {"parameter": "a", "tried": 2, "accepted": 2, "refused": 0, "unexpected": 0},
        {"parameter": "b", "tried": 1, "accepted": 0, "refused": 1, "unexpected": 1},
    ]
