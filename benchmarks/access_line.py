"""CPU time of one access line as the server writes it under load: 32 lines a loop turn, stderr on /dev/null.

    .venv/bin/python -m benchmarks.access_line [--root DIR]

`--root` measures another checkout of the project (`git archive <commit> | tar -x -C DIR`): one whose
`configure_logging` answers a writer of its own is measured through that writer, as its command line did. Each
of 5 rounds writes 96 000 lines; the median and the least CPU microseconds a line are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", help="the checkout to measure; this one by default")
    args = parser.parse_args()
    if args.root:
        sys.path.insert(0, os.path.abspath(args.root))
    from aiohttp.test_utils import make_mocked_request

    access = importlib.import_module("mock_server.http.access")
    logs = importlib.import_module("mock_server.logs")
    shown = sys.stdout
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  # stays open for the handler's lifetime: the process's
    writer = logs.configure_logging("text")
    request = make_mocked_request("POST", "/v1")
    extra = () if writer is None else (writer,)

    def log(started: float) -> None:
        access.log_request(request, 200, started, *extra)

    async def rounds() -> list[float]:
        per_line = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(3000):
                for _ in range(32):
                    log(time.perf_counter())
                await asyncio.sleep(0)  # a loop turn: where a batching handler writes
            per_line.append((time.process_time() - started) / 96_000 * 1e6)
        return per_line

    per_line = asyncio.run(rounds())
    where = args.root or "this checkout"
    print(f"{where}: {statistics.median(per_line):.2f} µs of CPU a line (least {min(per_line):.2f})", file=shown)


if __name__ == "__main__":
    main()
