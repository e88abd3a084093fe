"""`lipsync-contract schema-drift`: the platform's published schemas against the mock's, by meaning.

The published answer is `tests/data/published/lipsync-2.json`, written by hand from the model page the way
another team would write it (draft 2019-09, dereferenced with inner `$id`s, `oneOf` of consts, `required` in
another order, descriptions everywhere, `0.010` for a step) and served from a loopback server as the platform's
schema service would serve it. It differs from `schemas/` where the model page does: `KNOWN_FINDINGS`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from aiohttp import web

from contract_tests.cli import main

PUBLISHED = Path(__file__).parent / "data" / "published" / "lipsync-2.json"
MODEL = "sync:lipsync-2@1"
SEGMENT = ("requestSchema", "properties", "providerSettings", "properties", "sync", "properties", "segments", "items")

# Where the model page (and so the published fixture) and `schemas/` differ: the mock is stricter than the page.
# (in, parameter, what differs, published, mock), and the schema line each comes from.
KNOWN_FINDINGS = [
    ("request", "webhookURL", "pattern", "absent", "^https?://"),  # common.json httpUrl: "pattern": "^https?://"
    ("request", "uploadEndpoint", "pattern", "absent", "^https?://"),  # the same httpUrl
    ("request", "inputs.video", "minLength", "absent", "1"),  # video-inference-task.json "video": minLength 1
    ("request", "inputs.audio", "minLength", "absent", "1"),  # "audio": minLength 1
    ("request", "providerSettings.sync.segments[].audio", "minLength", "absent", "1"),  # segment "audio"
    ("response", "videoURL", "pattern", "absent", "^https?://"),  # result-item.json success: httpUrl
    ("response", "videoDataURI", "pattern", "absent", "^data:"),  # "videoDataURI": "pattern": "^data:"
    ("response", "cost", "minimum", "absent", "≥ 0"),  # "cost": "minimum": 0
    ("response", "status", "parameter", "absent", "present"),  # success "status" (seen in traffic; not on the page)
]


def published() -> dict:
    return json.loads(PUBLISHED.read_text())


def at(document: dict, *keys: str) -> dict:
    for key in keys:
        document = document[key]
    return document


def as_the_mock_reads_it() -> dict:
    """The published fixture with the known findings written in as the mock has them: it must agree."""
    document = published()
    request, response = at(document, "requestSchema", "properties"), at(document, "responseSchema", "properties")
    for name in ("webhookURL", "uploadEndpoint"):
        request[name]["pattern"] = "^https?://"
    for name in ("video", "audio"):
        request["inputs"]["properties"][name]["minLength"] = 1
    at(document, *SEGMENT, "properties", "audio")["minLength"] = 1
    response["videoURL"]["pattern"] = "^https?://"
    response["videoDataURI"]["pattern"] = "^data:"
    response["cost"]["minimum"] = 0
    response["status"] = {"description": "Status of the result.", "type": "string", "const": "success"}
    document["responseSchema"]["required"].append("status")
    return document


class SchemaService:
    """The platform's schema service on a loopback port: `GET /resolve/<model>` answers `document`."""

    def __init__(self) -> None:
        self.document: dict | None = as_the_mock_reads_it()
        self.body: bytes | None = None  # sent as it is instead of `document`
        self.status = 200
        self.asked: list[str] = []
        self.answer_never = asyncio.Event()  # set: the service hangs

    async def resolve(self, request: web.Request) -> web.Response:
        self.asked.append(request.match_info["model"])
        if self.answer_never.is_set():
            await asyncio.Event().wait()
        body = self.body if self.body is not None else json.dumps(self.document).encode()
        return web.Response(body=body, status=self.status, content_type="application/json")


@pytest.fixture
async def service(aiohttp_server):
    schemas = SchemaService()
    app = web.Application()
    app.router.add_get("/resolve/{model}", schemas.resolve)
    server = await aiohttp_server(app)
    schemas.url = str(server.make_url("")).rstrip("/")
    return schemas


async def run(*arguments: str) -> int:
    """The command, off the event loop the loopback service answers on."""
    return await asyncio.to_thread(main, ["schema-drift", *arguments])


def reported(path: Path) -> tuple[list[tuple[str, ...]], ElementTree.Element]:
    document = json.loads(path.with_suffix(".json").read_text())
    rows = [(d["schema"], d["parameter"], d["what"], d["published"], d["mock"]) for d in document["differences"]]
    return rows, ElementTree.parse(path.with_suffix(".xml")).getroot()


def table_rows(out: str) -> list[list[str]]:
    header, *rows = out.split("\n\n")[0].splitlines()
    assert header.split() == ["in", "parameter", "what", "differs", "published", "mock"]
    return [re.split(r"\s{2,}", row) for row in rows]


async def test_the_published_schema_that_means_what_the_mock_does_is_no_drift(service, tmp_path, capsys):
    code = await run("--schemas-url", service.url, "--report", str(tmp_path / "r"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert service.asked == [MODEL]
    assert f"no schema drift: 44 parameters of {MODEL} agree, {service.url}/resolve/{MODEL}" in out
    rows, suite = reported(tmp_path / "r")
    assert rows == []
    assert (suite.get("tests"), suite.get("failures")) == ("44", "0")
    names = {(case.get("classname"), case.get("name")) for case in suite.iter("testcase")}
    assert ("request", "providerSettings.sync.segments[].audioEndTime") in names
    assert ("response", "videoUUID") in names


async def test_the_model_page_as_published_differs_from_the_schemas_only_where_known(service, tmp_path, capsys):
    service.body = PUBLISHED.read_bytes()  # as written: 0.010 for the temperature's step, and so on
    code = await run("--schemas-url", service.url + "/", "--report", str(tmp_path / "r"))
    out = capsys.readouterr().out
    assert code == 1, out
    assert [tuple(row) for row in table_rows(out)] == KNOWN_FINDINGS
    assert f"schema drift: 9 differences in 9 of 44 parameters of {MODEL}" in out
    rows, suite = reported(tmp_path / "r")
    assert rows == KNOWN_FINDINGS
    assert (suite.get("tests"), suite.get("failures")) == ("44", "9")


def outputQuality_up_to_100(document):
    at(document, "requestSchema", "properties", "outputQuality")["maximum"] = 100


def a_sixth_syncMode(document):
    sync = at(document, "requestSchema", "properties", "providerSettings", "properties", "sync", "properties")
    sync["syncMode"]["oneOf"].append({"const": "stretch", "description": "Audio is stretched."})


def a_new_parameter(document):
    sync = at(document, "requestSchema", "properties", "providerSettings", "properties", "sync", "properties")
    sync["lipsyncStrength"] = {"description": "How strongly the lips follow.", "type": "number"}


def occlusion_detection_removed(document):
    sync = at(document, "requestSchema", "properties", "providerSettings", "properties", "sync", "properties")
    del sync["occlusionDetectionEnabled"]


def audio_required(document):
    at(document, "requestSchema", "properties", "inputs")["required"].append("audio")


def temperature_default_changed(document):
    sync = at(document, "requestSchema", "properties", "providerSettings", "properties", "sync", "properties")
    sync["temperature"]["default"] = 0.7


def audio_end_time_step_coarser(document):
    at(document, *SEGMENT, "properties", "audioEndTime")["multipleOf"] = 0.1


def audio_end_time_capped(document):
    at(document, *SEGMENT, "properties", "audioEndTime")["exclusiveMaximum"] = 300


def seed_a_number(document):
    at(document, "responseSchema", "properties", "seed")["type"] = "number"


def unknown_safety_keys_allowed(document):
    del at(document, "requestSchema", "properties", "safety")["additionalProperties"]


def any_uuid_version(document):
    at(document, "requestSchema", "properties", "taskUUID")["pattern"] = "^[0-9a-f-]{36}$"


def video_url_required(document):
    document["responseSchema"]["required"].append("videoURL")


def two_results_at_least(document):
    at(document, "requestSchema", "properties", "numberResults")["exclusiveMinimum"] = 1


def a_step_keyword_not_known_here(document):
    sync = at(document, "requestSchema", "properties", "providerSettings", "properties", "sync", "properties")
    sync["temperature"]["step"] = 0.05


TEMPERATURE = "providerSettings.sync.temperature"


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        (outputQuality_up_to_100, ("request", "outputQuality", "maximum", "≤ 100", "≤ 99")),
        (
            a_sixth_syncMode,
            (
                "request",
                "providerSettings.sync.syncMode",
                "allowed values",
                '"bounce", "cut_off", "loop", "remap", "silence", "stretch"',
                '"bounce", "cut_off", "loop", "remap", "silence"',
            ),
        ),
        (a_new_parameter, ("request", "providerSettings.sync.lipsyncStrength", "parameter", "present", "absent")),
        (
            occlusion_detection_removed,
            ("request", "providerSettings.sync.occlusionDetectionEnabled", "parameter", "absent", "present"),
        ),
        (audio_required, ("request", "inputs.audio", "required", "yes", "no")),
        (temperature_default_changed, ("request", TEMPERATURE, "default", "0.7", "0.5")),
        (
            audio_end_time_step_coarser,
            ("request", "providerSettings.sync.segments[].audioEndTime", "step (multipleOf)", "0.1", "0.01"),
        ),
        (
            audio_end_time_capped,
            ("request", "providerSettings.sync.segments[].audioEndTime", "maximum", "< 300", "absent"),
        ),
        (seed_a_number, ("response", "seed", "type", "number", "integer")),
        (unknown_safety_keys_allowed, ("request", "safety", "unknown keys", "allowed", "refused")),
        (
            any_uuid_version,
            (
                "request",
                "taskUUID",
                "pattern",
                "^[0-9a-f-]{36}$",
                "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
            ),
        ),
        (video_url_required, ("response", "videoURL", "required", "yes", "no")),
        (two_results_at_least, ("request", "numberResults", "minimum", "≥ 2", "≥ 1")),
        (a_step_keyword_not_known_here, ("request", TEMPERATURE, "keyword step", "0.05", "absent")),
    ],
    ids=lambda value: value.__name__ if callable(value) else "",
)
async def test_one_published_change_is_drift_named_by_its_parameter(service, tmp_path, capsys, change, difference):
    change(service.document)
    code = await run("--schemas-url", service.url, "--report", str(tmp_path / "r"))
    out = capsys.readouterr().out
    assert code == 1, out
    (row,) = table_rows(out)
    assert row[:3] == list(difference[:3]), out
    rows, suite = reported(tmp_path / "r")
    assert rows == [difference]
    (failure,) = suite.findall("testcase/failure")
    case = next(case for case in suite.iter("testcase") if case.find("failure") is not None)
    assert (case.get("classname"), case.get("name")) == difference[:2]
    assert failure.get("message") == f"{difference[2]}: published {difference[3]}; mock {difference[4]}"


def enum_for_one_of(document):
    output_format = at(document, "requestSchema", "properties", "outputFormat")
    output_format["enum"] = [branch["const"] for branch in output_format.pop("oneOf")]


def any_of_for_one_of_and_enum_for_const(document):
    request = at(document, "requestSchema", "properties")
    request["deliveryMethod"]["anyOf"] = request["deliveryMethod"].pop("oneOf")
    request["taskType"] = {"enum": ["videoInference"]}


def inclusive_minimum_for_integers(document):
    number_results = at(document, "requestSchema", "properties", "numberResults")
    del number_results["exclusiveMinimum"]
    number_results["minimum"] = 0.5  # no integer between 0.5 and 1


def draft_4_exclusive_flag(document):
    document["requestSchema"]["$schema"] = "http://json-schema.org/draft-04/schema#"
    at(document, "requestSchema", "properties", "numberResults").update(minimum=0, exclusiveMinimum=True)


def temperature_in_all_of(document):
    sync = at(document, "requestSchema", "properties", "providerSettings", "properties", "sync", "properties")
    sync["temperature"] = {
        "description": "Expressiveness.",
        "allOf": [
            {"type": ["integer", "number"], "minimum": -1, "maximum": 1},
            {"minimum": 0, "exclusiveMaximum": 2, "multipleOf": 0.01},
            {"default": 0.5, "x-displayOrder": 7},
        ],
    }


def inputs_by_reference(document):
    request = document["requestSchema"]
    request["$defs"] = {"inputs": request["properties"]["inputs"]}
    request["properties"]["inputs"] = {"$ref": "#/$defs/inputs"}


def draft_7_dependencies(document):
    segment = at(document, *SEGMENT)
    segment["dependencies"] = segment.pop("dependentRequired")


def no_id_at_the_top(document):
    del document["requestSchema"]["$id"]
    del document["responseSchema"]["$id"]


@pytest.mark.parametrize(
    "rewrite",
    [
        enum_for_one_of,
        any_of_for_one_of_and_enum_for_const,
        inclusive_minimum_for_integers,
        draft_4_exclusive_flag,
        temperature_in_all_of,
        inputs_by_reference,
        draft_7_dependencies,
        no_id_at_the_top,
    ],
    ids=lambda rewrite: rewrite.__name__,
)
async def test_the_same_constraint_written_another_way_is_no_drift(service, capsys, rewrite):
    rewrite(service.document)
    code = await run("--schemas-url", service.url)
    out = capsys.readouterr().out
    assert code == 0, out


async def test_a_service_that_cannot_be_reached_or_answers_otherwise_is_exit_2_in_one_line(
    service, aiohttp_server, capsys
):
    closed = await aiohttp_server(web.Application())
    closed_url = str(closed.make_url("")).rstrip("/")
    await closed.close()
    code = await run("--schemas-url", closed_url)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"lipsync-contract schema-drift: {closed_url}/resolve/{MODEL} did not answer (")
    assert err.count("\n") == 1

    for status, body, reason in [
        (503, b"{}", "answered HTTP 503"),
        (200, b"<html>", "is not JSON"),
        (200, b'{"requestSchema": {}}', "is not a published schema: no responseSchema object"),
        (200, b'{"requestSchema": {"$ref": "#/$defs/gone"}, "responseSchema": {}}', "requestSchema refers to"),
        (200, b'{"requestSchema": {}, "responseSchema": {"required": "seed"}}', "responseSchema is not a valid"),
    ]:
        service.status, service.body = status, body
        code = await run("--schemas-url", service.url)
        err = capsys.readouterr().err
        assert code == 2, err
        assert reason in err and err.count("\n") == 1, err


async def test_a_service_that_does_not_answer_in_time_is_exit_2(service, capsys):
    service.answer_never.set()
    code = await run("--schemas-url", service.url, "--timeout", "0.2")
    err = capsys.readouterr().err
    assert code == 2
    assert "did not answer (timed out)" in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["--schema", "a.json", "--schemas-url", "http://127.0.0.1:9"], "not allowed with argument"),
        (["--timeout", "0"], "--timeout must be more than 0"),
        (["--schemas-url", "schemas.runware.ai"], "--schemas-url must be an http or https URL"),
        (["--unknown"], "unrecognized arguments: --unknown"),
        (["--schema", "missing.json"], "cannot read missing.json"),
    ],
)
def test_usage_errors_are_exit_2_in_one_line(arguments, reason, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["schema-drift", *arguments])
    except SystemExit as exit:  # argparse exits; the command's own checks return
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lipsync-contract schema-drift: ") and reason in err and err.count("\n") == 1, err


def test_a_saved_answer_is_compared_offline(tmp_path, capsys):
    saved = tmp_path / "lipsync-2.json"
    saved.write_text(json.dumps(as_the_mock_reads_it()))
    assert main(["schema-drift", "--schema", str(saved)]) == 0
    assert f"no schema drift: 44 parameters of {MODEL} agree, {saved}" in capsys.readouterr().out

    changed = as_the_mock_reads_it()
    audio_end_time_step_coarser(changed)
    saved.write_text(json.dumps(changed))
    assert main(["schema-drift", "--schema", str(saved), "--report", str(tmp_path / "r")]) == 1
    assert "providerSettings.sync.segments[].audioEndTime" in capsys.readouterr().out
    rows, _ = reported(tmp_path / "r")
    assert [row[1] for row in rows] == ["providerSettings.sync.segments[].audioEndTime"]


def test_the_installed_command_compares_without_the_server_s_modules(tmp_path):
    saved = tmp_path / "lipsync-2.json"
    saved.write_text(json.dumps(copy.deepcopy(as_the_mock_reads_it())))
    script = Path(sys.executable).with_name("lipsync-contract")
    done = subprocess.run(
        [str(script), "schema-drift", "--schema", str(saved)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no schema drift" in done.stdout

    # Only the package's own __init__ (which imports nothing) is imported, to find the schema files it ships.
    probe = (
        "import sys; from contract_tests.cli import main; code = main(['schema-drift', '--schema', sys.argv[1]]); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'mock_server')); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(saved)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "['mock_server']"
