from __future__ import annotations

import math

import pytest

from mock_server.lifecycle import (
    PENDING,
    InvalidValue,
    Lifecycle,
    LifecycleMode,
    LifecyclePlan,
    check_processing_rate,
)


def test_by_default_results_are_ready_one_by_one_at_the_processing_rate():
    plan = LifecyclePlan(processing_rate=0.5)
    # Submitted at 100, 4 s of output, rendered at 101: ready at 102, 104, 106 (never before the render).
    assert plan.take_ready_times("t", "", created_at=100, duration=4, count=3, now=101) == [102, 104, 106]
    assert plan.take_ready_times("t", "", created_at=100, duration=4, count=1, now=103) == [103]


@pytest.mark.parametrize(
    ("lifecycle", "ready"),
    [
        (Lifecycle(LifecycleMode.IMMEDIATE), [101, 101]),
        (Lifecycle(LifecycleMode.AFTER, seconds=5), [105, 105]),
        (Lifecycle(LifecycleMode.AFTER, seconds=0.5), [101, 101]),
        (Lifecycle(LifecycleMode.POLLS, polls=3), [PENDING, PENDING]),
        (Lifecycle(LifecycleMode.MANUAL), [PENDING, PENDING]),
    ],
)
def test_each_mode_says_when_results_are_ready(lifecycle, ready):
    plan = LifecyclePlan(processing_rate=30)
    plan.set_lifecycle(lifecycle)
    assert plan.take_ready_times("t", "", created_at=100, duration=1, count=2, now=101) == ready


def test_a_task_may_have_a_lifecycle_of_its_own():
    plan = LifecyclePlan()
    plan.set_lifecycle(Lifecycle(LifecycleMode.MANUAL), "t1")
    assert plan.lifecycle_of("t1").mode is LifecycleMode.MANUAL
    assert plan.lifecycle_of("t2") == Lifecycle()
    plan.forget(["t1"])
    assert plan.lifecycle_of("t1") == Lifecycle()


def test_a_completion_asked_for_before_the_render_is_taken_once():
    plan = LifecyclePlan(processing_rate=30)
    plan.set_lifecycle(Lifecycle(LifecycleMode.MANUAL))
    plan.complete_when_rendered("t")
    assert plan.take_ready_times("t", "", 100, 1, 1, now=101) == [101]
    assert plan.take_ready_times("t", "", 100, 1, 1, now=101) == [PENDING]


def test_polls_are_counted_per_task_and_complete_in_polls_mode():
    plan = LifecyclePlan()
    plan.set_lifecycle(Lifecycle(LifecycleMode.POLLS, polls=2))
    assert [plan.count_poll("a"), plan.count_poll("a"), plan.count_poll("b")] == [1, 2, 1]
    assert [plan.completes_on_poll("a", "", n) for n in (1, 2, 3)] == [False, True, True]
    plan.reset()
    assert plan.count_poll("a") == 1
    assert not plan.completes_on_poll("a", "", 5)


def test_reset_keeps_the_processing_rate():
    plan = LifecyclePlan(processing_rate=0.5)
    plan.set_processing_rate(2)
    plan.set_lifecycle(Lifecycle(LifecycleMode.IMMEDIATE))
    plan.reset()
    assert (plan.processing_rate, plan.lifecycle_of("t")) == (2.0, Lifecycle())


def test_lifecycles_are_read_from_json_and_checked():
    assert Lifecycle.from_json({"mode": "after", "seconds": 2}) == Lifecycle(LifecycleMode.AFTER, 2.0, 1)
    assert Lifecycle.from_json({"mode": "polls", "polls": 3.0}).to_json() == {
        "mode": "polls",
        "seconds": 0.0,
        "polls": 3,
    }


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"mode": "sometimes"}, "mode"),
        ({}, "mode"),
        ({"mode": "after", "seconds": "abc"}, "seconds"),
        ({"mode": "after", "seconds": math.nan}, "seconds"),
        ({"mode": "after", "seconds": math.inf}, "seconds"),
        ({"mode": "after", "seconds": -1}, "seconds"),
        ({"mode": "after", "seconds": True}, "seconds"),
        ({"mode": "polls", "polls": 0}, "polls"),
        ({"mode": "polls", "polls": 1.5}, "polls"),
        ({"mode": "polls", "polls": 1e999}, "polls"),
        ({"mode": "polls", "polls": None}, "polls"),
    ],
)
def test_a_bad_lifecycle_names_its_field(body, parameter):
    with pytest.raises(InvalidValue) as refused:
        Lifecycle.from_json(body)
    assert refused.value.parameter == parameter


@pytest.mark.parametrize("rate", [-0.1, math.nan, math.inf, "1", None, True, 3600.1])
def test_a_processing_rate_is_a_finite_number_in_range(rate):
    with pytest.raises(InvalidValue):
        check_processing_rate(rate)
    assert check_processing_rate(0) == 0.0 and check_processing_rate(3600) == 3600.0


def test_each_namespace_has_its_default_lifecycle_and_resets_alone():
    plan = LifecyclePlan()
    plan.set_lifecycle(Lifecycle(LifecycleMode.MANUAL), namespace="w1")
    plan.set_lifecycle(Lifecycle(LifecycleMode.IMMEDIATE), "t2")
    assert plan.lifecycle_of("t1", "w1").mode is LifecycleMode.MANUAL
    assert plan.lifecycle_of("t1", "w2") == plan.lifecycle_of("t1") == Lifecycle()
    plan.reset("w2", ["t9"])
    assert plan.lifecycle_of("t1", "w1").mode is LifecycleMode.MANUAL
    plan.reset("w1", ["t2"])
    assert plan.lifecycle_of("t1", "w1") == Lifecycle() and plan.lifecycle_of("t2") == Lifecycle()


def test_a_tasks_own_lifecycle_belongs_to_its_namespace():
    plan = LifecyclePlan()
    plan.set_lifecycle(Lifecycle(LifecycleMode.MANUAL), "t", namespace="b")
    assert plan.lifecycle_of("t", "a") == Lifecycle()  # another namespace cannot steer a's task
    assert plan.lifecycle_of("t", "b").mode is LifecycleMode.MANUAL
    plan.reset("b", [])  # even for a task never submitted
    assert plan.lifecycle_of("t", "b") == Lifecycle()
