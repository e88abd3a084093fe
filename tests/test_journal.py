from __future__ import annotations

import json

from mock_server.journal import RequestJournal


def test_the_journal_keeps_the_latest_entries():
    journal = RequestJournal(capacity=2)
    for index in range(3):
        journal.record(json.dumps([index]).encode(), 200, "{}")
    assert [entry.request for entry in journal.entries()] == [b"[1]", b"[2]"]


def test_entries_are_found_by_the_task_they_name_and_shown_as_json():
    journal = RequestJournal()
    journal.record(b'[{"taskType": "getResponse", "taskUUID": "a"}]', 404, '{"errors": []}')
    journal.record(b"not json", 400, '{"errors": []}')
    assert [entry.status for entry in journal.entries("a")] == [404]
    assert journal.entries("b") == []
    shown = journal.entries()[1].to_json()
    assert (shown["request"], shown["status"], shown["response"], shown["truncated"]) == (
        "not json",
        400,
        {"errors": []},
        False,
    )
    journal.clear()
    assert journal.entries() == []


def test_api_keys_are_never_kept():
    journal = RequestJournal()
    journal.record(b'[{"taskType": "authentication", "apiKey": "s3cr\\"et"}, {"apiKey" : "two"}]', 401, "{}")
    (entry,) = journal.entries()
    assert b"s3cr" not in entry.request and b"two" not in entry.request
    assert entry.tasks() == [{"taskType": "authentication", "apiKey": "[redacted]"}, {"apiKey": "[redacted]"}]


def test_api_keys_spelt_with_escapes_are_not_kept_either():
    journal = RequestJournal()
    body = b'[{"taskType": "authentication", "api\\u004bey": "s3cret", "note": "apiKey\\u0021", "n": 1}]'
    journal.record(body, 401, "{}")
    (entry,) = journal.entries()
    assert b"s3cret" not in entry.request
    assert entry.tasks() == [{"taskType": "authentication", "apiKey": "[redacted]", "note": "apiKey!", "n": 1}]


def test_long_bodies_are_cut_and_the_journal_is_bounded_in_bytes():
    journal = RequestJournal(max_bytes=1000, max_body=100)
    journal.record(b"[" + b" " * 5000 + b"]", 400, "x" * 5000)
    (entry,) = journal.entries()
    assert (len(entry.request), len(entry.response), entry.truncated) == (100, 100, True)
    for _ in range(20):
        journal.record(b"[" + b"1," * 40 + b"1]", 200, "{}")
    assert sum(len(e.request) + len(e.response) for e in journal.entries()) <= 1000
    assert len(journal.entries()) < 21


def test_a_disabled_journal_keeps_nothing():
    journal = RequestJournal(enabled=False)
    journal.record(b"[]", 200, "{}")
    assert journal.entries() == []
