"""How soon `lipsync-mock` answers /health after it is started, beside a bare aiohttp handler and the bare interpreter.

    .venv/bin/python -m benchmarks.startup [--repeat 5]

Each repeat starts the process and asks /health every 5 ms until it answers; the figure is the time from the
start of the process to the first answer (goal for the mock: 1 s). Repeats alternate between the commands, so
drift on a shared machine hits all of them; the figures printed are medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.processes import ROOT, free_port

GOAL_SECONDS = 1.0


def seconds_to_health(command: list[str], port: int) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    return time.perf_counter() - started
            except OSError:
                if process.poll() is not None or time.perf_counter() - started > 30:
                    raise RuntimeError(f"{command} did not start") from None
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(30)


def seconds_to_exit(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    mock = str(Path(sys.executable).with_name("lipsync-mock"))
    times: dict[str, list[float]] = {"lipsync-mock": [], "bare aiohttp": [], "python -c pass": []}
    for _ in range(args.repeat):
        port = free_port()
        times["lipsync-mock"].append(seconds_to_health([mock, "--port", str(port)], port))
        port = free_port()
        times["bare aiohttp"].append(
            seconds_to_health([sys.executable, "benchmarks/bare_server.py", "--port", str(port)], port)
        )
        times["python -c pass"].append(seconds_to_exit([sys.executable, "-c", "pass"]))
    print(f"start to first /health answer, median of {args.repeat} (min-max)")
    for name, runs in times.items():
        print(f"{name:16} {statistics.median(runs):6.2f} s ({min(runs):.2f}-{max(runs):.2f})")
    mock_median = statistics.median(times["lipsync-mock"])
    verdict = "met" if mock_median <= GOAL_SECONDS else "not met"
    print(f"lipsync-mock: goal <= {GOAL_SECONDS:g} s: {verdict}")


if __name__ == "__main__":
    main()
