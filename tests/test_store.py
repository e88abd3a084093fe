from __future__ import annotations

import gc

from mock_server.store import Expiry, InMemoryTaskStore, Result, Task, expiry


def make_task(task_uuid: str, video_uuids: list[str]) -> Task:
    results = [Result(v, 1, 10.0, 70.0, None, None) for v in video_uuids]
    return Task.create(task_uuid, "MP4", '{"outputFormat": "MP4"}', 0.0, results)


def test_a_result_is_ready_at_its_time_and_served_until_it_expires():
    result = Result("v", 1, ready_at=10.0, expires_at=70.0, cost=None, nsfw_content=None)
    assert [result.is_ready(t) for t in (9.99, 10.0)] == [False, True]
    assert [result.is_served(t) for t in (9.99, 10.0, 69.99, 70.0)] == [False, True, True, False]


def test_a_stored_task_is_a_single_object_for_the_garbage_collector():
    store = InMemoryTaskStore()
    task = make_task("t1", ["v1", "v2", "v3"])
    store.add(task)
    # A collection untracks tuples of untracked values; the outer tuple may need a second pass.
    gc.collect()
    gc.collect()
    assert gc.is_tracked(task)
    assert not gc.is_tracked(task.result_rows)


def test_expiry_drops_a_file_past_every_ttl_and_a_task_past_the_retention():
    task = make_task("t", ["v1", "v2"])  # created at 0, results expire at 70
    assert expiry(task, now=69.9, retention=None) is Expiry.KEEP
    assert expiry(task, now=70.0, retention=None) is Expiry.DROP_FILE
    assert expiry(task, now=50.0, retention=49.0) is Expiry.DROP_TASK
    assert expiry(task, now=50.0, retention=50.0) is Expiry.KEEP
    kept = task.with_results([task.results[0], task.results[1]._replace(expires_at=None)])
    assert expiry(kept, now=1e9, retention=None) is Expiry.KEEP
