"""The drift check's reports: a table of what differs, and PATH.json and PATH.xml (JUnit) for CI systems."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from contract_tests.drift_compare import Difference
from contract_tests.reports import JUnitCase, aligned, paths_beside, write_junit


@dataclass
class CaseResult:
    case: str
    file: str
    recorded_outcome: str
    differences: list[Difference] = field(default_factory=list)


def table(results: list[CaseResult]) -> str:
    rows = [("case", "what differs", "recorded", "now")]
    rows += [(r.case, d.what, d.recorded, d.now) for r in results for d in r.differences]
    return aligned([tuple(cell.removeprefix("contract_tests.") for cell in row) for row in rows], (100, 60, 60, 60))


def write_reports(path: Path, target: str, results: list[CaseResult]) -> tuple[Path, ...]:
    """PATH.json (every case, every difference) and PATH.xml (JUnit: one test case per recording)."""
    as_json, as_xml = paths_beside(path, (".json", ".xml"))
    document = {
        "target": target,
        "cases": len(results),
        "drifted": sum(1 for r in results if r.differences),
        "results": [asdict(r) for r in results],
    }
    as_json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    cases = []
    for result in results:
        module, _, name = result.case.rpartition("::")
        failures = tuple(f"{d.what}: recorded {d.recorded}; now {d.now}" for d in result.differences)
        cases.append(JUnitCase(module or "lipsync-drift", name or result.case, failures))
    write_junit(as_xml, "lipsync-drift", cases)
    return as_json, as_xml
