"""The drift check's reports: the table, and the JSON and JUnit files, from hand-made results."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

from contract_tests.drift_compare import Difference
from contract_tests.drift_reports import CaseResult, table, write_reports

DRIFTED = CaseResult(
    "contract_tests.test_flow::test_x",
    "test_flow.test_x-1.json",
    "passed",
    [Difference("#1: HTTP status", "200", "500"), Difference("#2: body fields", "seed: integer", "seed: absent")],
)
STEADY = CaseResult("contract_tests.test_account::test_y", "test_account.test_y-2.json", "passed")


def test_the_table_has_a_row_per_difference_without_the_package_name():
    header, *rows = table([DRIFTED, STEADY]).splitlines()
    assert header.split() == ["case", "what", "differs", "recorded", "now"]
    assert [row.split("  ")[0] for row in rows] == ["test_flow::test_x", "test_flow::test_x"]
    assert rows[1].split() == ["test_flow::test_x", "#2:", "body", "fields", "seed:", "integer", "seed:", "absent"]


def test_a_long_cell_is_cut():
    long = CaseResult("c", "f", "passed", [Difference("what", "x" * 80, "y")])
    (_, row) = table([long]).splitlines()
    assert "x" * 59 + "…" in row and "x" * 60 not in row


def test_the_reports_hold_every_case_and_a_junit_case_per_recording(tmp_path):
    as_json, as_xml = write_reports(tmp_path / "drift", "http://127.0.0.1:9/v1", [DRIFTED, STEADY])
    document = json.loads(as_json.read_text())
    assert (document["cases"], document["drifted"]) == (2, 1)
    assert document["results"][0]["differences"][1] == {
        "what": "#2: body fields",
        "recorded": "seed: integer",
        "now": "seed: absent",
    }
    suite = ElementTree.parse(as_xml).getroot()
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("lipsync-drift", "2", "1")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("contract_tests.test_flow", "test_x"),
        ("contract_tests.test_account", "test_y"),
    ]
    (failure,) = cases[0].findall("failure")
    assert failure.get("message") == "#1: HTTP status: recorded 200; now 500"
    assert failure.text.splitlines() == [
        "#1: HTTP status: recorded 200; now 500",
        "#2: body fields: recorded seed: integer; now seed: absent",
    ]
