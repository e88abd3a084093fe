from __future__ import annotations

import json

import pytest

from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.journal import RequestJournal, redacted


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


SECRET = "s3cret-key-0123456789"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(json.dumps([{"taskType": "authentication", "apiKey": SECRET}]).encode("utf-16"), id="utf-16"),
        pytest.param(json.dumps([{"taskType": "authentication", "apiKey": SECRET}]).encode("utf-32-le"), id="utf-32"),
        pytest.param(f'[{{"taskType": "authentication", "apiKey": {{"k": ["{SECRET}"]}}}}]'.encode(), id="object"),
        pytest.param(b'[{"taskType": "authentication", "apiKey": 301234567890123}]', id="number"),
        pytest.param(json.dumps([{"taskType": "authentication", "apiKey": SECRET * 8000}]).encode(), id="over-64kB"),
        pytest.param(b'[{"taskType": "authentication", "apiKey": "' + SECRET.encode() * 8000, id="cut-short"),
    ],
)
async def test_no_api_key_is_journaled_whatever_its_type_length_or_encoding(aiohttp_client, body):
    client = await aiohttp_client(create_app(Settings(quiet=True)))
    posted = await client.post("/v1", data=body, headers={"Content-Type": "application/json"})
    assert posted.status < 500
    journal = await (await client.get("/__mock/requests")).text()
    assert SECRET not in journal and "301234567890123" not in journal
    assert "redacted" in journal


def test_a_redacted_body_keeps_everything_but_the_keys():
    body = (
        b'[{"a": "apiKey", "b": ["apiKey", {"apiKey": [1, {"x": "y"}]}], "api\\u004bey": null, "c": "\\"apiKey\\": 1"}]'
    )
    assert json.loads(redacted(body)) == [
        {"a": "apiKey", "b": ["apiKey", {"apiKey": "[redacted]"}], "apiKey": "[redacted]", "c": '"apiKey": 1'}
    ]
    assert redacted(b'{"apiKey": 1, "bytes": "\xff\xfe"}') == b'{"apiKey": "[redacted]", "bytes": "\xff\xfe"}'
