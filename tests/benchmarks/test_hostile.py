"""The hostile-input benchmark's own logic: how a case is judged against its bounds, the bodies and media it
builds, what a held connection got, and the process-tree memory readings."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import uuid

import av

from benchmarks.hostile import (
    Exchange,
    Measured,
    finish_tasks,
    grey_png,
    half_sent_outcome,
    with_raw,
)
from benchmarks.processes import descendants, free_port, memory_mb, mock_command, reset_peak_memory, running
from contract_tests.payloads import example_task


def measured(
    growth: float = 10, health_ms: float = 20, answers: tuple[Exchange, ...] = (), kept: float = 0
) -> Measured:
    health = [Exchange(200, "")] * 3
    return Measured("case", 1, 0.1, growth, 0.0, [5.0, health_ms, 5.0], health, list(answers), kept, [])


def test_a_case_within_every_bound_has_no_faults():
    answers = (Exchange(400, "invalidRequestBody"), Exchange(-1, "half-sent request, no answer"))
    assert measured(answers=answers).faults() == []


def test_each_bound_passed_is_named():
    assert measured(growth=250).faults() == ["peak growth 250 MB ≥ 200 MB"]
    assert measured(growth=250, kept=100).faults() == []  # what the caps let it keep
    assert measured(health_ms=300).faults() == ["/health max 300 ms ≥ 250 ms"]
    answers = (Exchange(503, "tooManyConnections"), Exchange(503, "tooManyConnections"), Exchange(0, "hung"))
    assert measured(answers=answers).faults() == ["answers: 503 tooManyConnections x2", "answers: no answer: hung x1"]


def test_a_refusal_the_case_meets_by_design_is_counted_but_not_a_fault():
    refusals = (Exchange(503, "half-sent request tooManyConnections"), Exchange(503, "internalError"))
    designed = Measured(
        "case", 1, 0.1, 10, 0.0, [5.0], [Exchange(200, "")], list(refusals), 0, [], "tooManyConnections"
    )
    assert designed.faults() == ["answers: 503 internalError x1"]


def test_the_grey_png_decodes_to_its_size():
    with av.open(io.BytesIO(grey_png(64, 48))) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (64, 48)


def test_a_raw_parameter_is_written_into_the_task_as_it_is():
    task = example_task()
    body = with_raw(task, "ttl", b"1" + b"0" * 30)
    assert json.loads(body) == [{**task, "ttl": 10**30}]
    assert json.loads(with_raw(task, "taskUUID", b'"x"')) == [{**task, "taskUUID": "x"}]


def test_a_held_connection_is_told_answered_closed_or_still_open():
    for peer_does, expected in [
        (lambda peer: peer.sendall(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"), (503, "half-sent request")),
        (lambda peer: None, (-1, "half-sent request, no answer")),
    ]:
        mine, peer = socket.socketpair()
        peer_does(peer)
        peer.close()
        outcome = half_sent_outcome(mine)
        mine.close()
        assert (outcome.status, outcome.said.removesuffix(" tooManyConnections")) == expected
    mine, peer = socket.socketpair()
    assert half_sent_outcome(mine).status == 0  # nothing yet, and not closed: it hangs
    mine.close()
    peer.close()


def test_a_task_the_mock_does_not_know_ends_at_once():
    port = free_port()
    with running(mock_command(port, "--processing-rate", "0"), port) as (base, _):
        ends = finish_tasks(base, [str(uuid.uuid4())], seconds=60)
    assert [end.said for end in ends] == ["task unknown (refused when sent)"]


def test_the_processes_a_process_started_are_found_and_their_peak_reset():
    grandchild = "import time; x = bytearray(100 << 20); del x; print('freed', flush=True); time.sleep(60)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"freed\n"
        (grand,) = [pid for pid in descendants(process.pid)]
        assert memory_mb(grand, "VmHWM") > 100 > memory_mb(grand, "VmRSS")
        reset_peak_memory(grand)
        assert memory_mb(grand, "VmHWM") < 100
    finally:
        process.kill()
        process.wait()
