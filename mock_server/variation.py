"""Answers varied within the contract, to fuzz a client through its real transport (`--vary-responses SEED`).

A client that passes against the mock's steady answers may still break on what the real service is allowed
to do: add fields, leave optional ones out, report progress in leaps, list a task's results in another
order, or answer `processing` once more before a result shows as done. `ResponseVariation` does each of
these at random — every answer still valid against `schemas/` — reproducibly from its seed; the journal
keeps the answers as sent. `contract_tests.strategies.varied()` draws the same variations for unit tests.
"""

from __future__ import annotations

import random
import string
from typing import Any

# Names of the fields added: never one the schemas define (they all start with a lower-case letter other
# than x, or are NSFWContent).
EXTRA_FIELD_PREFIX = "x"


def extra_field_name(rng: random.Random) -> str:
    return EXTRA_FIELD_PREFIX + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))


def extra_field_value(rng: random.Random) -> Any:
    return rng.choice([None, True, rng.randint(-(2**31), 2**31), "".join(rng.choices(string.ascii_letters, k=8))])


def with_extra_fields(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The item with 0-2 fields the schemas do not name, as a newer server may add."""
    extra = {extra_field_name(rng): extra_field_value(rng) for _ in range(rng.randint(0, 2))}
    return {**item, **extra}


def vary_progress(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A processing item's progress leaping anywhere in 0-99, or left out (it is optional)."""
    if item.get("status") != "processing":
        return item
    varied = {key: value for key, value in item.items() if key != "progress"}
    if rng.random() < 0.8:
        varied["progress"] = rng.randint(0, 99)
    return varied


def shuffled(items: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """A task's result items in another order: results need not finish, nor be listed, in order."""
    order = list(items)
    rng.shuffle(order)
    return order


class ResponseVariation:
    """Varies the answers of one mock, from one seed. Owns the results it has held back once."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._held_back: set[str] = set()  # videoUUIDs shown as processing once after they were done

    def poll_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A poll's result items: a result just done may show as processing one more time; progress leaps;
        the order changes."""
        varied = []
        for item in items:
            video_uuid = item.get("videoUUID")
            if video_uuid and video_uuid not in self._held_back and self.rng.random() < 0.5:
                self._held_back.add(video_uuid)
                item = {"taskType": item["taskType"], "taskUUID": item["taskUUID"], "status": "processing"}
            elif video_uuid:
                self._held_back.add(video_uuid)  # held back at most once, and only before it was shown done
            varied.append(vary_progress(item, self.rng))
        return shuffled(varied, self.rng)

    def body(self, body: dict[str, Any]) -> dict[str, Any]:
        """Extra fields on every item and error of an answer body."""
        return {
            key: [with_extra_fields(item, self.rng) if isinstance(item, dict) else item for item in value]
            if key in ("data", "errors") and isinstance(value, list)
            else value
            for key, value in body.items()
        }

    def reset(self) -> None:
        self._held_back.clear()
