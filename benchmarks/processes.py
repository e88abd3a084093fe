"""Servers the benchmarks start as processes of their own, on free loopback ports."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_health(base: str, port: int) -> None:
    """Returns once `base` answers /health; raises OSError until then."""
    with urllib.request.urlopen(f"{base}/health", timeout=1):
        pass


def accepts_connections(base: str, port: int) -> None:
    """Returns once `port` accepts a connection (for a server with no /health); raises OSError until then."""
    socket.create_connection(("127.0.0.1", port), timeout=1).close()


@contextmanager
def running(
    command: list[str],
    port: int,
    ready: Callable[[str, int], None] = answers_health,
    startup_seconds: float = 30,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `command` (which listens on `port`), wait until it is `ready`, and stop it afterwards."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                ready(base, port)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{command} did not start") from None
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(30)


def mock_command(port: int, *flags: str) -> list[str]:
    return [sys.executable, "-m", "mock_server", "--port", str(port), *flags]


def memory_mb(pid: int, field: str) -> float:
    """A memory figure of a process from /proc: `VmRSS` (resident now) or `VmHWM` (peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (a server's render processes), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread or the process has just ended
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def reset_peak_memory(pid: int) -> None:
    """Set a process's peak resident memory (VmHWM) back to what it holds now (Linux: /proc/PID/clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
