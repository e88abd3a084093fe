"""The conformance table: per parameter, cases tried, accepted, refused, and how many surprised."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from contract_tests.client import Answer
from contract_tests.reports import paths_beside
from mock_server.paths import without_indexes


def leaf_parameters(task: Any, prefix: str = "") -> list[str]:
    """Every parameter a task sets, as paths without indexes."""
    if isinstance(task, dict):
        return [p for key, value in task.items() for p in leaf_parameters(value, f"{prefix}.{key}" if prefix else key)]
    if isinstance(task, list) and task and all(isinstance(item, dict) for item in task):
        return sorted({p for item in task for p in leaf_parameters(item, f"{prefix}[]")})
    return [prefix]


COLUMNS = ("tried", "accepted", "refused", "unexpected")


class Conformance:
    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def expect_accepted(self, task: dict[str, Any], answer: Answer) -> None:
        accepted = answer.status == 200 and not answer.errors
        for parameter in leaf_parameters(task):
            self._count(parameter, "accepted" if accepted else "refused", surprising=not accepted)

    def expect_refused(self, parameter: str, answer: Answer) -> None:
        named = any(error.get("parameter") == parameter for error in answer.errors)
        refused = bool(answer.errors) and not answer.data
        self._count(parameter, "refused" if refused else "accepted", surprising=not (refused and named))

    def _count(self, parameter: str, outcome: str, *, surprising: bool) -> None:
        counter = self.counts.setdefault(without_indexes(parameter), Counter())
        counter["tried"] += 1
        counter[outcome] += 1
        counter["unexpected"] += surprising

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Count another run's rows in (a pytest-xdist worker's, sent to the controller)."""
        for row in rows:
            counter = self.counts.setdefault(row["parameter"], Counter())
            counter.update({column: row[column] for column in COLUMNS})

    def rows(self) -> list[dict[str, Any]]:
        """One row per parameter, sorted: `parameter`, `tried`, `accepted`, `refused`, `unexpected`."""
        return [
            {"parameter": name, **{column: self.counts[name][column] for column in COLUMNS}}
            for name in sorted(self.counts)
        ]

    def markdown(self) -> str:
        lines = ["| parameter | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
        lines += [f"| `{row['parameter']}` | " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in self.rows()]
        return "\n".join(lines) + "\n"

    def write_reports(self, path: Path) -> list[Path]:
        """The table as PATH.json and PATH.md (a .json or .md suffix on PATH is replaced)."""
        as_json, as_markdown = paths_beside(path, (".json", ".md"))
        as_json.write_text(json.dumps({"parameters": self.rows()}, indent=2) + "\n")
        as_markdown.write_text("# lipsync-2 conformance\n\n" + self.markdown())
        return [as_json, as_markdown]

    def table(self) -> str:
        if not self.counts:
            return ""
        width = max(len(name) for name in self.counts)
        lines = [f"{'parameter':{width}}  tried accepted refused unexpected"]
        for name in sorted(self.counts):
            c = self.counts[name]
            lines.append(f"{name:{width}}  {c['tried']:5} {c['accepted']:8} {c['refused']:7} {c['unexpected']:10}")
        return "\n".join(lines)
