"""Reports of the drift checks: where they go (one path given, one file per format beside it), a text table,
JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def paths_beside(path: Path, suffixes: tuple[str, ...]) -> tuple[Path, ...]:
    """`report` → report.json, report.xml; a path already ending in one of `suffixes` loses that suffix first."""
    stem = path.with_suffix("") if path.suffix in suffixes else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    return tuple(stem.with_name(stem.name + suffix) for suffix in suffixes)


def aligned(rows: Sequence[tuple[str, ...]], widths: tuple[int, ...]) -> str:
    """Rows as columns of text, each cell cut to its column's width with `…`; the last column is not padded."""
    cells = [[_clip(cell, width) for cell, width in zip(row, widths, strict=True)] for row in rows]
    fitted = [max(len(row[column]) for row in cells) for column in range(len(widths) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, [*fitted, 0], strict=True)).rstrip() for row in cells
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    failures: tuple[str, ...] = ()  # one line each; the first is the failure's message


def write_junit(path: Path, suite_name: str, cases: list[JUnitCase]) -> None:
    """A JUnit XML file, which CI systems show as test results: one test case each, failed when it has failures."""
    failed = sum(1 for case in cases if case.failures)
    suite = ElementTree.Element("testsuite", name=suite_name, tests=str(len(cases)), failures=str(failed))
    for case in cases:
        element = ElementTree.SubElement(suite, "testcase", classname=case.classname, name=case.name)
        if case.failures:
            failure = ElementTree.SubElement(element, "failure", message=case.failures[0])
            failure.text = "\n".join(case.failures)
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
