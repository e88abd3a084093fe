"""The store test suite: every TaskStore backend passes the same tests."""

from __future__ import annotations

import math

import pytest

from mock_server.faults import Drop
from mock_server.store import InMemoryTaskStore, Media, Result, SQLiteTaskStore, Task


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryTaskStore()
    else:
        sqlite = SQLiteTaskStore(tmp_path / "data")
        yield sqlite
        sqlite.close()


def make_task(task_uuid: str, video_uuids: list[str], created_at: float = 0.0, ready_at: float = 10.0) -> Task:
    results = [Result(v, 7, ready_at, 70.0, 0.044, None) for v in video_uuids]
    return Task.create(task_uuid, "MP4", '{"outputFormat": "MP4"}', created_at, results, "http://h", (Drop(),))


def test_a_task_is_kept_once_and_found_by_its_results(store):
    task = make_task("t1", ["v1", "v2"])
    assert store.add(task)
    assert not store.add(make_task("t1", ["v3"]))
    assert store.get("t1") == task and store.get("t2") is None
    assert store.get("t1").request == {"outputFormat": "MP4"}
    assert store.find_result("v2") == (task, task.results[1])
    assert store.find_result("v3") is None


def test_a_replaced_task_keeps_its_new_state(store):
    task = make_task("t1", ["v1"], ready_at=math.inf)
    store.add(task)
    assert store.get("t1").results[0].ready_at == math.inf
    done = task.with_results([task.results[0]._replace(ready_at=12.5)])
    store.replace(done)
    assert store.get("t1") == done
    failed = done.failed({"code": "processingFailed"})
    store.replace(failed)
    assert store.get("t1").error_json == failed.error_json


def test_files_and_uploads(store):
    store.add(make_task("t1", ["v1"]))
    assert not store.has_file("t1") and store.get_file("t1") is None
    store.put_file("t1", b"video bytes")
    assert store.has_file("t1") and store.get_file("t1") == b"video bytes"
    store.add_media("m1", Media(b"audio", "audio/wav"), 5.0)
    assert store.get_media("m1") == Media(b"audio", "audio/wav", added_at=5.0)  # when it was kept
    assert store.delete_media("m1") and not store.delete_media("m1") and store.get_media("m1") is None


def test_deliveries_are_remembered(store):
    assert not store.was_delivered("v1")
    store.mark_delivered("v1")
    store.mark_delivered("v1")
    assert store.was_delivered("v1")


def test_all_tasks_come_oldest_first(store):
    for name, created in (("b", 2.0), ("a", 1.0)):
        store.add(make_task(name, [f"v{name}"], created_at=created))
    assert [task.task_uuid for task in store.all_tasks()] == ["a", "b"]


def test_expire_drops_old_tasks_and_uploads_and_files_past_their_ttl(store):
    old, fresh = make_task("old", ["v-old"], created_at=0.0), make_task("fresh", ["v-fresh"], created_at=100.0)
    for task in (old, fresh):
        store.add(task)
        store.put_file(task.task_uuid, b"file")
    store.add_media("m-old", Media(b"x", "video/mp4"), 0.0)
    store.add_media("m-new", Media(b"y", "video/mp4"), 100.0)
    assert store.expire(now=110.0, retention=50.0) == ["old"]
    assert store.get("old") is None and store.find_result("v-old") is None and store.get_file("old") is None
    assert store.get_media("m-old") is None and store.get_media("m-new") is not None
    # The results expire at 70: with no retention, only the file past its ttl goes.
    assert store.expire(now=110.0, retention=None) == []
    assert store.get("fresh") is not None and store.get_file("fresh") is None


def test_clear_forgets_everything(store):
    store.add(make_task("t1", ["v1"]))
    store.put_file("t1", b"f")
    store.add_media("m1", Media(b"a", "audio/wav"), 1.0)
    store.mark_delivered("v1")
    store.clear()
    assert (store.get("t1"), store.get_file("t1"), store.get_media("m1"), store.was_delivered("v1")) == (
        None,
        None,
        None,
        False,
    )


def test_the_sqlite_store_keeps_everything_across_a_reopen(tmp_path):
    first = SQLiteTaskStore(tmp_path)
    task = make_task("t1", ["v1"])
    first.add(task)
    first.put_file("t1", b"video")
    first.add_media("m1", Media(b"a", "audio/wav"), 1.0)
    first.close()
    second = SQLiteTaskStore(tmp_path)
    assert second.get("t1") == task and second.get_file("t1") == b"video" and second.get_media("m1").data == b"a"
    second.close()


def test_what_work_still_refers_to_does_not_expire(store):
    store.add(make_task("old", ["v1"], created_at=0.0))
    store.add_media("m-old", Media(b"x", "audio/wav"), 0.0)
    assert store.expire(now=110.0, retention=50.0, in_use={"old", "m-old"}) == []
    assert store.get("old") is not None and store.get_media("m-old") is not None
    assert store.expire(now=110.0, retention=50.0) == ["old"]
    assert store.get_media("m-old") is None


def test_a_task_dropped_meanwhile_is_not_brought_back_by_a_late_state(store):
    task = make_task("t1", ["v1"])
    store.add(task)
    store.clear()
    store.replace(task.failed({"code": "processingFailed"}))
    assert store.get("t1") is None


async def test_changes_on_the_event_loop_are_committed_in_one_group_before_durable_returns(tmp_path):
    import sqlite3

    store = SQLiteTaskStore(tmp_path)
    for name in ("a", "b", "c"):
        assert store.add(make_task(name, [f"v-{name}"]))
    assert not store.add(make_task("a", ["v-x"]))  # a taken taskUUID still refused inside the group
    reader = sqlite3.connect(tmp_path / "mock.sqlite")
    assert reader.execute("SELECT count(*) FROM tasks").fetchone() == (0,)  # not yet committed
    await store.durable()
    assert reader.execute("SELECT count(*) FROM tasks").fetchone() == (3,)
    assert store.get("a") is not None and store.find_result("v-x") is None
    reader.close()
    store.close()


@pytest.fixture(params=["memory", "sqlite"])
def budgeted(request, tmp_path):
    """A store that keeps 10 bytes of result files and uploads in all (and, for SQLite, its data folder)."""
    if request.param == "memory":
        yield InMemoryTaskStore(max_stored_bytes=10), None
    else:
        sqlite = SQLiteTaskStore(tmp_path / "data", max_stored_bytes=10)
        yield sqlite, tmp_path / "data"
        sqlite.close()


def test_past_the_budget_the_oldest_files_and_uploads_are_dropped(budgeted):
    store, _ = budgeted
    store.put_file("t1", b"123456")
    store.add_media("m1", Media(b"abcd", "audio/wav"), 1.0)
    assert store.get_file("t1") == b"123456" and store.get_media("m1") is not None  # 10 bytes: within
    store.put_file("t2", b"12345")
    assert store.get_file("t1") is None and store.get_media("m1").data == b"abcd"
    store.add_media("m2", Media(b"abcdef", "audio/wav"), 2.0)
    assert (store.get_media("m1"), store.get_file("t2"), store.get_media("m2").data) == (None, None, b"abcdef")
    store.put_file("t3", b"x" * 50)  # alone past the budget: kept, the rest dropped
    assert store.get_file("t3") == b"x" * 50 and store.get_media("m2") is None


def test_what_is_deleted_or_cleared_no_longer_counts_against_the_budget(budgeted):
    store, _ = budgeted
    store.add_media("m1", Media(b"abcdefgh", "audio/wav"), 1.0)
    assert store.delete_media("m1")
    store.put_file("t1", b"12345")
    store.clear()
    store.add_media("m2", Media(b"abcdefgh", "audio/wav"), 1.0)
    store.put_file("t2", b"12")
    assert store.get_media("m2") is not None and store.get_file("t2") == b"12"


def test_a_persistent_store_counts_the_files_it_finds_at_start(tmp_path):
    first = SQLiteTaskStore(tmp_path, max_stored_bytes=10)
    first.put_file("t1", b"123456")
    first.close()
    reopened = SQLiteTaskStore(tmp_path, max_stored_bytes=10)
    reopened.add_media("m1", Media(b"abcde", "audio/wav"), 1.0)  # 11 bytes with the file found
    assert reopened.get_file("t1") is None and reopened.get_media("m1") is not None
    reopened.close()
