"""`lipsync-contract drift DIR --target URL`: send every recorded request to a target again (normally the mock)
and compare the answers with the recording structurally, not byte for byte: each case is replayed
(`drift_replay.CaseReplay`), its answers compared (`drift_compare`, which says what is and is not compared), and
what differs reported (`drift_reports`).

Exit status: 0 nothing differs, 1 drift, 2 the check could not run (usage, no recordings, target unreachable).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from contract_tests.client import ApiClient
from contract_tests.drift_replay import CaseReplay
from contract_tests.drift_reports import CaseResult, table, write_reports
from contract_tests.targets import MediaServer
from mock_server.recording import load_recordings

NO_DRIFT, DRIFT, USAGE_ERROR = 0, 1, 2
DEFAULT_KEY = "lipsync-drift"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="lipsync-contract drift",
        description="Send each recorded request to a target again and compare the answers structurally.",
    )
    parser.add_argument("recordings", type=Path, metavar="DIR", help="a folder written by --record")
    parser.add_argument(
        "--target", default=os.environ.get("RUNWARE_BASE_URL"), help="task endpoint (env RUNWARE_BASE_URL)"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("RUNWARE_API_KEY", DEFAULT_KEY),
        help="a key the target accepts (env RUNWARE_API_KEY; default lipsync-drift, which a mock started without "
        "--api-key accepts — but then the recorded wrong-key cases drift: start it with one)",
    )
    parser.add_argument("--media-base-url", help="where the target can fetch the fixture media; default: served here")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write FILE.json and FILE.xml (JUnit)")
    parser.add_argument("--poll-budget", type=float, default=60.0, metavar="S", help="seconds a task may take")
    args = parser.parse_args(argv)
    if not args.target:
        parser.error("--target is required (or RUNWARE_BASE_URL)")
    if not args.recordings.is_dir():
        parser.error(f"{args.recordings} is not a folder")
    try:
        recordings = load_recordings(args.recordings)
    except ValueError as error:
        parser.error(str(error))
    if not recordings:
        parser.error(f"no recordings (*.json) in {args.recordings}")

    results = []
    with ExitStack() as stack:
        media_base_url = args.media_base_url or stack.enter_context(MediaServer()).base_url
        client = ApiClient(args.target, args.api_key)
        stack.callback(client.close)
        for path, recording in recordings:
            result = CaseResult(recording.get("case", path.stem), path.name, recording.get("outcome", "unknown"))
            try:
                replay = CaseReplay(client, args.api_key, media_base_url.rstrip("/"), recording, args.poll_budget)
                result.differences = replay.run()
            except OSError as error:
                print(f"lipsync-contract drift: {args.target} did not answer ({error}) in {path.name}", file=sys.stderr)
                return USAGE_ERROR
            results.append(result)

    drifted = [r for r in results if r.differences]
    if drifted:
        print(table(results))
        count = sum(len(r.differences) for r in drifted)
        plural = "" if count == 1 else "s"
        print(f"\ndrift: {count} difference{plural} in {len(drifted)} of {len(results)} cases, against {args.target}")
    else:
        exchanges = sum(len(recording["exchanges"]) for _, recording in recordings)
        print(f"no drift: {len(results)} cases, {exchanges} recorded exchanges, against {args.target}")
    if args.report:
        for written in write_reports(args.report, args.target, results):
            print(f"report: {written}")
    return DRIFT if drifted else NO_DRIFT
