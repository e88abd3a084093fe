from __future__ import annotations

from mock_server.journal import JournalEntry, RequestJournal


def test_the_journal_keeps_the_latest_entries():
    journal = RequestJournal(capacity=2)
    for index in range(3):
        journal.record(JournalEntry(float(index), b"[]", 200, "{}"))
    assert [entry.received_at for entry in journal.entries()] == [1.0, 2.0]


def test_entries_are_found_by_the_task_they_name_and_shown_as_json():
    journal = RequestJournal()
    journal.record(JournalEntry(1.0, b'[{"taskType": "getResponse", "taskUUID": "a"}]', 404, '{"errors": []}'))
    journal.record(JournalEntry(2.0, b"not json", 400, '{"errors": []}'))
    assert [entry.received_at for entry in journal.entries("a")] == [1.0]
    assert journal.entries("b") == []
    assert journal.entries()[1].to_json() == {
        "receivedAt": 2.0,
        "request": "not json",
        "status": 400,
        "response": {"errors": []},
    }
    journal.clear()
    assert journal.entries() == []
