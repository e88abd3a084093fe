"""The contract suite's command-line options, registered on install (entry point `pytest11`).

An installed plugin, not conftest.py: pytest parses the command line before it imports a conftest inside an
installed package, so `pytest --pyargs contract_tests --target …` needs the options known up front. Loaded in
every pytest session of an environment that has the package, it adds options and nothing else: no
hypothesis import, no settings changed (contract_tests/conftest.py does that, for the suite only).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lipsync-contract", "lipsync-2 contract tests")
    group.addoption(
        "--target",
        default=os.environ.get("RUNWARE_BASE_URL"),
        help="task endpoint to test, e.g. https://api.runware.ai/v1 (env RUNWARE_BASE_URL); "
        "default: a mock started in this process",
    )
    group.addoption("--api-key", default=os.environ.get("RUNWARE_API_KEY"), help="API key (env RUNWARE_API_KEY)")
    group.addoption(
        "--allow-spend",
        type=Decimal,
        default=Decimal(0),
        metavar="USD",
        help="budget for cases that run paid tasks on a target that is not local (default 0: none run)",
    )
    group.addoption(
        "--media-base-url",
        help="public URL of a folder holding the fixture media (speaker.mp4, voice.wav), for paid cases "
        "against a remote target; local targets are served those files from this machine",
    )
    group.addoption("--profile", choices=["quick", "default", "thorough"], default="default", help="how many examples")
    group.addoption(
        "--record",
        type=Path,
        metavar="DIR",
        help="write every exchange of each test case to DIR/<case>.json, the API key scrubbed (docs/recording.md)",
    )
    group.addoption(
        "--conformance-table",
        action="store_true",
        help="print the conformance table at the end (also printed with --conformance-report)",
    )
    group.addoption(
        "--conformance-report",
        type=Path,
        metavar="PATH",
        help="write the conformance table to PATH.json and PATH.md, and print it",
    )
