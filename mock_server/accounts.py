"""Accounts: what each API key (within its namespace) has left to spend, and what its tasks were charged.

An account is made the first time its key is used, with `--balance` USD (None: unlimited, never refused). A
video task is refused at submission while the account holds less than `VIDEO_TASK_MINIMUM` — the platform's
rule for video tasks, which needs no media; the exact cost is known only once the media is read, so a task is
charged when its render finishes, its cost once per result, and refunded if it then fails. A charge may take the
balance below zero; the next video task is then refused (docs/behaviour.md gives the evidence for each choice).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mock_server.namespaces import namespace_of

# The platform's observed rule: a video task needs a paid invoice or at least $5 of credit.
VIDEO_TASK_MINIMUM = Decimal(5)
# What getDetails shows an unlimited account holding, less what it spent: the platform's shape has a number here.
UNLIMITED_SHOWN = Decimal(1_000_000)
ORGANIZATION_NAME = "lipsync-mock"
_ORGANIZATIONS = uuid.UUID("6f1d3c2a-8b4e-4f5a-9c7d-0e1f2a3b4c5d")  # the namespace of organisation UUIDs


@dataclass
class Account:
    owner: str  # see namespaces.owner_of
    balance: Decimal | None  # None: unlimited
    spent: Decimal = Decimal(0)
    charges: dict[str, Decimal] = field(default_factory=dict)  # by taskUUID, until refunded

    @property
    def shown_balance(self) -> Decimal:
        return UNLIMITED_SHOWN - self.spent if self.balance is None else self.balance

    def to_json(self) -> dict[str, Any]:
        balance = None if self.balance is None else _usd(self.balance)
        return {"account": self.owner.rpartition("/")[2], "balance": balance, "spent": _usd(self.spent)}


class Accounts:
    """Owns every account's balance and charges. It must not decide what a task costs (processing.cost_of)."""

    def __init__(self, starting_balance: float | None = None) -> None:
        self._default = _money(starting_balance)
        self._starting: dict[str, Decimal | None] = {}  # by namespace, when set through set_balance
        self._accounts: dict[str, Account] = {}

    def account(self, owner: str) -> Account:
        if owner not in self._accounts:
            self._accounts[owner] = Account(owner, self.starting_balance(namespace_of(owner)))
        return self._accounts[owner]

    def starting_balance(self, namespace: str) -> Decimal | None:
        return self._starting.get(namespace, self._default)

    def starting_balance_view(self, namespace: str) -> float | None:
        starting = self.starting_balance(namespace)
        return None if starting is None else _usd(starting)

    def can_start_video_task(self, owner: str) -> bool:
        balance = self.account(owner).balance
        return balance is None or balance >= VIDEO_TASK_MINIMUM

    def charge(self, owner: str, task_uuid: str, amount: float) -> None:
        account = self.account(owner)
        cost = Decimal(repr(amount))
        account.charges[task_uuid] = account.charges.get(task_uuid, Decimal(0)) + cost
        account.spent += cost
        if account.balance is not None:
            account.balance -= cost

    def refund(self, owner: str, task_uuid: str) -> None:
        """Give back what a task that failed was charged (nothing, if it was not)."""
        account = self._accounts.get(owner)
        cost = account.charges.pop(task_uuid, None) if account is not None else None
        if account is None or cost is None:
            return
        account.spent -= cost
        if account.balance is not None:
            account.balance += cost

    def set_balance(self, amount: float | None, namespace: str, owner: str | None = None) -> None:
        """Set one account's balance (`owner`), or every account's of the namespace and the balance its new
        accounts start with. None: unlimited."""
        value = _money(amount)
        if owner is not None:
            self.account(owner).balance = value
            return
        self._starting[namespace] = value
        for account in self._accounts.values():
            if namespace_of(account.owner) == namespace:
                account.balance = value

    def views(self, namespace: str | None) -> list[dict[str, Any]]:
        """The accounts used so far, of one namespace or (None) of all."""
        return [a.to_json() for a in self._accounts.values() if namespace in (None, namespace_of(a.owner))]

    def details(self, owner: str, task_uuid: str) -> dict[str, Any]:
        """The answer to accountManagement getDetails, in the platform's shape."""
        account = self.account(owner)
        return {
            "taskType": "accountManagement",
            "taskUUID": task_uuid,
            "operation": "getDetails",
            "organizationName": ORGANIZATION_NAME,
            "organizationUUID": str(uuid.uuid5(_ORGANIZATIONS, owner)),
            "balance": {"amount": _usd(account.shown_balance), "currency": "USD"},
        }

    def clear(self, namespace: str | None = None) -> None:
        """Forget the accounts and set balances of one namespace, or (None) of all: they start again."""
        if namespace is None:
            self._accounts.clear()
            self._starting.clear()
            return
        self._starting.pop(namespace, None)
        for owner in [o for o in self._accounts if namespace_of(o) == namespace]:
            del self._accounts[owner]


def _money(amount: float | None) -> Decimal | None:
    # repr() gives the number as written, so 0.1 stays 0.1 rather than its binary expansion.
    return None if amount is None else Decimal(repr(amount))


def _usd(amount: Decimal) -> float:
    return float(round(amount, 6))
