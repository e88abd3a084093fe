"""Where a report goes: one path given, one file per format beside it."""

from __future__ import annotations

from pathlib import Path


def paths_beside(path: Path, suffixes: tuple[str, ...]) -> tuple[Path, ...]:
    """`report` → report.json, report.xml; a path already ending in one of `suffixes` loses that suffix first."""
    stem = path.with_suffix("") if path.suffix in suffixes else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    return tuple(stem.with_name(stem.name + suffix) for suffix in suffixes)
