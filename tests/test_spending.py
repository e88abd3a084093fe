from __future__ import annotations

from decimal import Decimal

import pytest

from contract_tests.spending import SpendGuard, estimate_cost


def test_a_task_costs_its_audio_for_each_result():
    assert estimate_cost({"numberResults": 2}, 1.5) == Decimal("0.132")
    segments = [{"startTime": 0, "endTime": 1.25}, {"startTime": 2, "endTime": 2.5}]
    assert estimate_cost({"providerSettings": {"sync": {"segments": segments}}}, 30) == Decimal("0.077")


def test_nothing_runs_on_a_remote_target_without_a_budget():
    guard = SpendGuard(Decimal(0), is_local=False)
    with pytest.raises(pytest.skip.Exception, match="--allow-spend"):
        guard.charge({}, 1.0)
    assert (guard.paid_tasks, guard.skipped) == (0, 1)


def test_the_budget_stops_the_task_that_would_pass_it():
    guard = SpendGuard(Decimal("0.1"), is_local=False)
    guard.charge({}, 1.0)
    guard.charge({}, 1.0)
    with pytest.raises(pytest.skip.Exception, match="budget"):
        guard.charge({}, 1.0)
    assert guard.estimated == Decimal("0.088")


def test_local_targets_are_free_and_reported_costs_count_once():
    guard = SpendGuard(Decimal(0), is_local=True)
    guard.charge({"numberResults": 4}, 100)
    guard.report("t", [{"cost": 0.5}, {"cost": 0.25}])
    guard.report("t", [{"cost": 0.5}, {"cost": 0.25}])
    assert (guard.paid_tasks, guard.reported) == (1, Decimal("0.75"))


def test_the_summary_of_a_local_target_says_nothing_was_charged():
    guard = SpendGuard(Decimal(0), is_local=True)
    guard.charge({"numberResults": 4}, 100)
    guard.charge({}, 1.0)
    guard.report("t", [{"cost": 0.5}])
    assert guard.summary() == (
        "spending: local target, nothing charged (2 paid-equivalent tasks; the account did not report its balance)"
    )
    guard.add_balance_used(Decimal("1000000"), Decimal("999999.956"))
    assert guard.summary() == (
        "spending: local target, nothing charged (2 paid-equivalent tasks; the account's balance went down by $0.0440)"
    )


def test_the_summary_of_a_remote_target_compares_the_estimate_with_the_reported_cost():
    guard = SpendGuard(Decimal(20), is_local=False)
    guard.charge({"numberResults": 4}, 100)
    guard.report("t", [{"cost": 0.5}, {"cost": 0.25}])
    assert guard.summary() == (
        "spending: 1 paid tasks, estimated $17.6000, reported $0.7500 (tasks asked for includeCost), "
        "0 skipped for the budget; the account did not report its balance"
    )


def test_totals_from_another_process_add_up():
    from decimal import Decimal

    from contract_tests.spending import SpendGuard

    worker, controller = SpendGuard(Decimal(1), is_local=False), SpendGuard(Decimal(1), is_local=False)
    worker.charge({"numberResults": 2}, 1.0)
    controller.add_totals(worker.totals())
    assert controller.balance_used is None  # no worker read a balance
    worker.add_balance_used(Decimal(10), Decimal("9.5"))
    controller.add_totals(worker.totals())
    assert (controller.paid_tasks, controller.estimated, controller.balance_used) == (
        2,
        Decimal("0.176"),
        Decimal("0.5"),
    )
