"""The spending guard: what paid cases may cost against a real target, estimated before each one."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from mock_server import PRICE_PER_AUDIO_SECOND


def estimate_cost(task: dict[str, Any], audio_seconds: float) -> Decimal:
    """USD a task costs at most: the audio used (segment windows, or the whole input) for each result."""
    segments = task.get("providerSettings", {}).get("sync", {}).get("segments") or []
    windows = sum(Decimal(repr(s["endTime"])) - Decimal(repr(s["startTime"])) for s in segments)
    seconds = windows if segments else Decimal(repr(audio_seconds))
    return PRICE_PER_AUDIO_SECOND * seconds * task.get("numberResults", 1)


@dataclass
class SpendGuard:
    budget: Decimal  # USD that paid cases may spend against a target that is not on this machine
    is_local: bool
    estimated: Decimal = Decimal(0)
    reported: Decimal = Decimal(0)
    paid_tasks: int = 0
    skipped: int = 0
    balance_used: Decimal | None = None  # by the account's own balance; None when the target does not report it
    _reported_tasks: set[str] = field(default_factory=set)

    def charge(self, task: dict[str, Any], audio_seconds: float) -> None:
        """Call before submitting a task that runs: skips the test when the budget does not allow it."""
        cost = estimate_cost(task, audio_seconds)
        if not self.is_local:
            if self.budget <= 0:
                self.skipped += 1
                pytest.skip("a paid case: pass --allow-spend USD to run it against a target that is not local")
            if self.estimated + cost > self.budget:
                self.skipped += 1
                pytest.skip(f"the next task (~${cost:.4f}) would pass the --allow-spend budget of ${self.budget}")
        self.estimated += cost
        self.paid_tasks += 1

    def report(self, task_uuid: str, results: list[dict[str, Any]]) -> None:
        """Count the cost the target reported for a finished task (once per task)."""
        if task_uuid in self._reported_tasks:
            return
        self._reported_tasks.add(task_uuid)
        self.reported += sum((Decimal(repr(item.get("cost", 0))) for item in results), Decimal(0))

    def add_balance_used(self, before: Decimal | None, after: Decimal | None) -> None:
        if before is not None and after is not None:
            self.balance_used = (self.balance_used or Decimal(0)) + before - after

    def totals(self) -> dict[str, str]:
        """What a pytest-xdist worker sends the controller, which adds them up (`add_totals`)."""
        return {
            "estimated": str(self.estimated),
            "reported": str(self.reported),
            "paid_tasks": str(self.paid_tasks),
            "skipped": str(self.skipped),
            "balance_used": "" if self.balance_used is None else str(self.balance_used),
        }

    def add_totals(self, totals: dict[str, str]) -> None:
        self.estimated += Decimal(totals["estimated"])
        self.reported += Decimal(totals["reported"])
        self.paid_tasks += int(totals["paid_tasks"])
        self.skipped += int(totals["skipped"])
        if totals.get("balance_used"):
            self.balance_used = (self.balance_used or Decimal(0)) + Decimal(totals["balance_used"])

    def summary(self) -> str:
        used = (
            "the account did not report its balance"
            if self.balance_used is None
            else f"the account's balance went down by ${self.balance_used:.4f}"
        )
        if self.is_local:
            # Nothing on this machine charges real money: the balance is the mock's own account.
            return f"spending: local target, nothing charged ({self.paid_tasks} paid-equivalent tasks; {used})"
        return (
            f"spending: {self.paid_tasks} paid tasks, estimated ${self.estimated:.4f}, "
            f"reported ${self.reported:.4f} (tasks asked for includeCost), {self.skipped} skipped for the budget; "
            f"{used}"
        )
