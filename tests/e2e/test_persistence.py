"""A persistent mock, as a real process: restarts, SIGTERM and SIGKILL lose no acknowledged task."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import wave
from pathlib import Path

import pytest

from contract_tests.client import ApiClient
from contract_tests.payloads import data_uri, example_task, with_inline_media
from mock_server.testing import MockControl
from tests.receiver import Receiver


class MockProcess:
    def __init__(self, data_dir, *flags: str) -> None:
        self.data_dir = data_dir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.command = [
            sys.executable,
            "-m",
            "mock_server",
            "--port",
            str(self.port),
            "--data-dir",
            str(data_dir),
            *flags,
        ]
        self.process: subprocess.Popen | None = None
        self.limit_file_size: int | None = None  # RLIMIT_FSIZE of the process: writes past it fail with EFBIG

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MockProcess:
        self.log = self.data_dir.with_suffix(".log").open("ab")
        limit = self.limit_file_size
        limited = None if limit is None else lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limited)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.base_url}/health", timeout=1)
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = self.data_dir.with_suffix(".log").read_text()[-2000:]
                    raise RuntimeError(f"the mock did not start: {log}") from None
                time.sleep(0.05)

    def stop(self, how: int = signal.SIGTERM) -> int:
        self.process.send_signal(how)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "mock-data"


def task_status(mock: MockProcess, task_uuid: str) -> str | None:
    """What the control API shows of a task: "rendering", then "processing" once its file is stored, ..."""
    with urllib.request.urlopen(f"{mock.base_url}/__mock/tasks", timeout=10) as response:
        views = json.load(response)
    return next((view["status"] for view in views if view["taskUUID"] == task_uuid), None)


def wait_until(condition, timeout: float = 30.0) -> None:
    """Until a real process has done what `condition` asks about: there is no event to wait on across processes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def exits_within(pid: int, timeout: float) -> bool:
    """Whether the process ends within `timeout` seconds (or has already): its pidfd turns readable when it does."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


def test_a_restart_keeps_tasks_results_and_uploads(data_dir):
    mock = MockProcess(data_dir, "--processing-rate", "0").start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    upload = api.post(
        [
            {
                "taskType": "mediaStorage",
                "taskUUID": example_task()["taskUUID"],
                "operation": "upload",
                "media": data_uri("voice.wav"),
            }
        ]
    ).data[0]
    task = {**example_task(), "inputs": {"video": data_uri("speaker.mp4"), "audio": upload["mediaUUID"]}}
    api.submit(task)
    (before,) = api.wait_for_results(task["taskUUID"], 1)
    assert mock.stop(signal.SIGTERM) == 0
    api.close()
    wal = data_dir / "mock.sqlite-wal"  # folded into mock.sqlite on the way out: the folder is whole by itself
    assert not wal.exists() or wal.stat().st_size == 0

    mock.start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    (after,) = api.wait_for_results(task["taskUUID"], 1)
    assert after == before
    assert api.download(after["videoURL"])[0] == 200
    assert urllib.request.urlopen(upload["mediaURL"]).read()[:4] == b"RIFF"
    assert api.submit(task).errors[0]["code"] == "conflictTaskUUID"
    api.close()
    mock.stop()


def test_sigkill_during_a_load_run_loses_no_acknowledged_task(data_dir):
    mock = MockProcess(data_dir, "--processing-rate", "0.2", "--render-workers", "1").start()
    tasks = [with_inline_media(example_task()) for _ in range(40)]
    acknowledgments = threading.Semaphore(0)

    def submit(task):
        client = ApiClient(f"{mock.base_url}/v1", "key", timeout=10)
        try:
            if client.submit(task).status != 200:
                return None
            acknowledgments.release()
            return task["taskUUID"]
        except OSError:
            return None  # the kill came first: not acknowledged
        finally:
            client.close()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(submit, task) for task in tasks]
        for _ in range(10):  # a quarter acknowledged, the others being sent or waiting to be: mid-run
            assert acknowledgments.acquire(timeout=30), "the mock stopped acknowledging"
        mock.stop(signal.SIGKILL)
        acknowledged = [uuid for uuid in (f.result() for f in futures) if uuid]
    assert acknowledged, "the kill came before any acknowledgment: nothing was tested"

    mock.start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    for task_uuid in acknowledged:
        answer = api.poll(task_uuid)
        assert answer.data or answer.errors[0]["code"] != "taskNotFound", f"{task_uuid} vanished"
        api.wait_for_results(task_uuid, 1, budget=60)  # the unrendered ones were resumed
    api.close()
    mock.stop()


def test_a_webhook_that_was_due_is_delivered_after_a_restart(data_dir):
    with Receiver() as receiver:
        mock = MockProcess(data_dir, "--processing-rate", "0").start()
        control = MockControl(mock.base_url)
        control.set_lifecycle("after", seconds=4)  # time to render first, on a busy machine too
        api = ApiClient(f"{mock.base_url}/v1", "key")
        task = with_inline_media({**example_task(), "webhookURL": receiver.url("/hook")})
        api.submit(task)
        wait_until(lambda: task_status(mock, task["taskUUID"]) in ("processing", "success"))
        assert task_status(mock, task["taskUUID"]) == "processing", "rendered only once due: nothing to resume"
        api.close()
        mock.stop(signal.SIGKILL)
        assert receiver.received == []
        mock.start()
        (received,) = receiver.wait_for(1, timeout=10)
        assert task["taskUUID"] in received.body.decode()
        mock.stop()


def test_a_webhook_delivered_before_a_restart_is_not_sent_again(data_dir):
    with Receiver() as receiver:
        mock = MockProcess(data_dir, "--processing-rate", "0").start()
        api = ApiClient(f"{mock.base_url}/v1", "key")
        task = with_inline_media({**example_task(), "webhookURL": receiver.url("/hook")})
        api.submit(task)
        assert len(receiver.wait_for(1)) == 1
        api.close()
        assert mock.stop(signal.SIGTERM) == 0
        mock.start()
        # What a restart resumes is scheduled before the mock answers its first request, due at once: a task
        # submitted afterwards has its webhook sent after any resumed one. This one fails at once (its video on
        # a port that refuses connections), and its failure is sent the same way.
        with socket.socket() as refusing:
            refusing.bind(("127.0.0.1", 0))
            api = ApiClient(f"{mock.base_url}/v1", "key")
            video = f"http://127.0.0.1:{refusing.getsockname()[1]}/speaker.mp4"
            later = {**example_task(), "webhookURL": receiver.url("/hook")}
            api.submit({**later, "inputs": {**later["inputs"], "video": video}})
            first, second = receiver.wait_for(2)
        assert task["taskUUID"] in first.body.decode() and later["taskUUID"] in second.body.decode()
        api.close()
        mock.stop()


def test_a_corrupt_database_is_one_line_and_exit_2(tmp_path, refused_at_start):
    (tmp_path / "mock.sqlite").write_bytes(b"this is not a database, " * 100)
    status, stderr = refused_at_start("--data-dir", str(tmp_path))
    assert (status, len(stderr.splitlines())) == (2, 1), stderr
    assert f"cannot use {tmp_path / 'mock.sqlite'}" in stderr


PAGE = 4096  # SQLite's default page size


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda db: db[:PAGE] + bytes(PAGE) + db[2 * PAGE :], id="a page of zeros"),
        pytest.param(lambda db: db[: 2 * PAGE] + b"\x55" * PAGE + db[3 * PAGE :], id="a page of garbage"),
        pytest.param(lambda db: db[:-PAGE] + b"\xaa" * PAGE, id="the last page garbage"),
    ],
)
def test_a_corrupt_data_page_behind_a_valid_header_is_one_line_and_exit_2(tmp_path, corrupt, refused_at_start):
    from mock_server.store import Media, SQLiteTaskStore

    store = SQLiteTaskStore(tmp_path)
    for index in range(200):  # rows on several pages
        store.add_media(f"m{index}", Media(b"x", "audio/wav", "owner " * 20), float(index))
    store.close()
    database = tmp_path / "mock.sqlite"
    database.write_bytes(corrupt(database.read_bytes()))
    status, stderr = refused_at_start("--data-dir", str(tmp_path))
    assert (status, len(stderr.splitlines())) == (2, 1), stderr
    assert f"cannot use {database}: database disk image is malformed" in stderr


def test_an_empty_database_file_starts_fresh_and_says_so(tmp_path, caplog):
    from mock_server.store import SQLiteTaskStore

    (tmp_path / "mock.sqlite").write_bytes(b"")
    store = SQLiteTaskStore(tmp_path)
    assert store.all_tasks() == []
    store.close()
    assert "is empty" in caplog.text


def test_closing_the_store_folds_the_log_into_the_database(tmp_path):
    from mock_server.store import Media, SQLiteTaskStore

    store = SQLiteTaskStore(tmp_path)
    store.add_media("m", Media(b"x", "audio/wav"), 1.0)
    store.close()
    wal = tmp_path / "mock.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert SQLiteTaskStore(tmp_path).get_media("m") == Media(b"x", "audio/wav", added_at=1.0)


def test_a_killed_server_leaves_no_render_process_behind(data_dir):
    mock = MockProcess(data_dir, "--processing-rate", "0").start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    task = with_inline_media(example_task())
    api.submit(task)
    api.wait_for_results(task["taskUUID"], 1)  # rendered: the render processes are up
    api.close()
    pid = mock.process.pid
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    assert children, "renders run in processes of their own"
    mock.stop(signal.SIGKILL)
    assert [child for child in children if not exits_within(child, 10)] == []


def test_tasks_resumed_after_a_kill_fetch_media_from_the_mock_itself_once_it_listens(data_dir):
    # One render worker: the first tasks are resumed while the rest wait, so each kind of start is tried.
    mock = MockProcess(data_dir, "--processing-rate", "0", "--render-workers", "1").start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    urls = {}
    for name in ("speaker.mp4", "voice.wav"):
        upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
        urls[name] = api.post([{**upload, "media": data_uri(name)}]).data[0]["mediaURL"]
    tasks = [{**example_task(), "inputs": {"video": urls["speaker.mp4"], "audio": urls["voice.wav"]}} for _ in range(6)]
    for task in tasks:
        assert api.submit(task).status == 200
    api.close()
    mock.stop(signal.SIGKILL)  # before most are rendered

    mock.start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    outcomes = [api.wait_until_settled(task["taskUUID"], budget=60) for task in tasks]
    assert [answer.errors for answer in outcomes] == [[]] * len(tasks)
    api.close()
    mock.stop()


def test_a_full_data_dir_answers_storage_full_keeps_what_was_acknowledged_and_exits_cleanly(data_dir):
    # Without filling a disk: a file-size limit on the process makes a write past it fail (EFBIG), as a full
    # disk (ENOSPC) or a quota (EDQUOT) would; the store takes all three for no room.
    limit = 2_000_000
    mock = MockProcess(data_dir, "--processing-rate", "0")
    mock.limit_file_size = limit
    mock.start()
    api = ApiClient(f"{mock.base_url}/v1", "key")
    task = with_inline_media(example_task())
    api.submit(task)
    (before,) = api.wait_for_results(task["taskUUID"], 1)
    samples = io.BytesIO()
    with wave.open(samples, "wb") as audio:
        audio.setnchannels(1), audio.setsampwidth(2), audio.setframerate(16000)
        audio.writeframes(bytes(limit + 1000))
    media = f"data:audio/wav;base64,{base64.b64encode(samples.getvalue()).decode()}"
    upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    refused = api.post([{**upload, "media": media}])
    assert (refused.status, refused.errors[0]["code"]) == (507, "storageFull")
    assert list(data_dir.rglob("*.partial")) == []
    assert api.poll(task["taskUUID"]).data == [before]
    assert api.download(before["videoURL"])[0] == 200
    api.close()
    assert mock.stop(signal.SIGTERM) == 0
    assert "Traceback" not in data_dir.with_suffix(".log").read_text()
