"""Polls against the mock and against Stoplight Prism serving the mock's own OpenAPI document, side by side.

    npm install -g @stoplight/prism-cli     # or set PRISM to a prism executable; not a dependency
    .venv/bin/python -m benchmarks.prism [--seconds 5] [--rounds 3] [--concurrency 32]

Prism is the usual tool for mocking an API from its OpenAPI document; here it runs `prism mock` (static mode,
its defaults) on `GET /openapi.json` of the mock. Both are sent the same poll of a finished task with
`wrk -t1 -c32`, rounds alternating; no renders run, so this compares request paths. The figures printed are
medians over rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.load import KEY, submit_once, wrk_round
from benchmarks.processes import accepts_connections, free_port, mock_command, running


@contextmanager
def prism_serving(document: Path, port: int) -> Iterator[str]:
    """`prism mock` of `document` on `port`, once it accepts connections."""
    executable = os.environ.get("PRISM") or shutil.which("prism")
    if executable is None:
        raise SystemExit("prism is not installed: npm install -g @stoplight/prism-cli (or set PRISM)")
    command = [executable, "mock", str(document), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, ready=accepts_connections, startup_seconds=60) as (base, _):
        yield base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    mock_port, prism_port = free_port(), free_port()
    results: dict[str, list[dict[str, float]]] = {"mock": [], "prism": []}
    with (
        tempfile.TemporaryDirectory() as folder,
        running(mock_command(mock_port, "--processing-rate", "0", "--api-key", KEY), mock_port) as (mock_base, _),
    ):
        document = Path(folder) / "openapi.json"
        with urllib.request.urlopen(f"{mock_base}/openapi.json") as reply:
            document.write_bytes(reply.read())
        poll = submit_once(mock_base)
        with prism_serving(document, prism_port) as prism_base:
            targets = {"mock": mock_base, "prism": prism_base}
            for base in targets.values():
                wrk_round(base, poll, False, 1, args.concurrency)  # warm-up
            for _ in range(args.rounds):
                for name, base in targets.items():
                    results[name].append(wrk_round(base, poll, False, args.seconds, args.concurrency))

    print(f"polls from wrk: {args.rounds} rounds of {args.seconds} s, {args.concurrency} connections; medians")
    print(f"{'server':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    medians = {}
    for name, runs in results.items():
        medians[name] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        m = medians[name]
        print(f"{name:8} {m['rps']:9.0f} {m['p50_ms']:8.2f} {m['p99_ms']:8.2f}")
    print(f"mock/prism throughput {medians['mock']['rps'] / medians['prism']['rps']:.2f}x")


if __name__ == "__main__":
    main()
