"""`lipsync-contract --record DIR`: one readable file per test case, every exchange in it, the API key nowhere."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.config import Settings
from mock_server.recording import API_KEY_PLACEHOLDER, decode_body, encode_body, file_name, scrub
from mock_server.testing import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "real-service-key-0123456789"
# A few cases of each kind: a refusal, auth by header and by task, an unknown task, a task run to its file.
SUBSET = (
    "carries_the_key or a_wrong_key or polling_an_unknown or (past_the_boundary and outputQuality and 100) "
    "or (playable and MP4)"
)


def record(target_url: str, api_key: str, folder: Path, select: str = SUBSET) -> subprocess.CompletedProcess[str]:
    """Run the installed suite's command against `target_url`, recording into `folder`, from a clean cwd."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "contract_tests.cli", "--target", target_url, "--api-key", api_key]
    command += ["--record", str(folder), "--profile", "quick", "-k", select, "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=folder.parent, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    with BackgroundServer(Settings(api_keys=(SECRET,), processing_rate=0.05)) as real_service:
        folder = tmp_path_factory.mktemp("recording") / "cases"
        record(real_service.url, SECRET, folder)
        yield folder


def load(folder, fragment):
    (path,) = [p for p in folder.glob("*.json") if fragment in p.name]
    return json.loads(path.read_text())


def test_each_case_is_one_file_named_after_it(recorded):
    names = sorted(path.name for path in recorded.glob("*.json"))
    assert len(names) == 5, names
    assert any(name.startswith("test_flow.test_a_task_runs_to_a_playable_file") for name in names)
    for path in recorded.glob("*.json"):
        document = json.loads(path.read_text())
        assert document["outcome"] == "passed"
        assert document["case"].startswith("contract_tests.test_")
        assert document["exchanges"]


def test_the_api_key_is_nowhere_in_the_recording(recorded):
    for path in recorded.glob("*.json"):
        assert SECRET not in path.read_text(), path.name
    (first, *_) = load(recorded, "playable")["exchanges"]
    assert first["request"]["headers"]["Authorization"] == f"Bearer {API_KEY_PLACEHOLDER}"
    (exchange,) = load(recorded, "carries_the_key")["exchanges"]
    authentication, _task = exchange["request"]["body"]
    assert authentication == {"taskType": "authentication", "apiKey": API_KEY_PLACEHOLDER}
    assert "Authorization" not in exchange["request"]["headers"]


def test_a_task_is_recorded_with_its_polls_up_to_its_outcome_and_its_file(recorded):
    exchanges = load(recorded, "playable")["exchanges"]
    submit, *polls, download = exchanges
    (task,) = submit["request"]["body"]
    assert submit["response"]["status"] == 200
    assert submit["response"]["body"] == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
    assert polls and all(
        p["request"]["body"] == [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}] for p in polls
    )
    (outcome,) = polls[-1]["response"]["body"]["data"]
    assert outcome["status"] == "success"
    assert download["download"]["url"] == outcome["videoURL"]
    assert download["download"]["contentType"] == "video/mp4"
    assert download["download"]["media"]["brand"] == "isom"
    assert download["download"]["media"]["duration"] == pytest.approx(1.0, abs=0.1)


def test_a_refusal_is_recorded_as_answered(recorded):
    (exchange,) = load(recorded, "outputQuality")["exchanges"]
    assert exchange["response"]["status"] == 400
    assert exchange["response"]["headers"]["Content-Type"].startswith("application/json")
    (error,) = exchange["response"]["body"]["errors"]
    assert (error["code"], error["parameter"]) == ("invalidOutputQuality", "outputQuality")
    assert exchange["request"]["body"][0]["outputQuality"] == 100


def test_the_key_is_scrubbed_wherever_it_is_and_nothing_else_changes():
    body = {"apiKey": SECRET, "note": f"key={SECRET}", "n": 1, SECRET[:4]: [SECRET]}
    assert scrub(body, SECRET) == {
        "apiKey": API_KEY_PLACEHOLDER,
        "note": f"key={API_KEY_PLACEHOLDER}",
        "n": 1,
        SECRET[:4]: [API_KEY_PLACEHOLDER],
    }
    # A short key is only replaced where it is a whole value: as a substring it is part of ordinary words.
    assert scrub({"taskType": "k", "a": "keep"}, "k") == {"taskType": API_KEY_PLACEHOLDER, "a": "keep"}


@pytest.mark.parametrize(
    "body",
    [b'[{"a": 1}]', b"[{", b"   ", b"[NaN]", b"\xff\xfe\x00", b'{"a":1}', b"[" * 5000 + b"]" * 5000],
    ids=repr,
)
def test_bodies_are_kept_so_they_can_be_sent_again_byte_for_byte(body):
    encoded = encode_body(body, SECRET)
    assert len(encoded) == 1
    assert decode_body(encoded) == body
    json.dumps(encoded, allow_nan=False)  # readable, strict JSON


def test_a_key_spelt_with_json_escapes_is_scrubbed_from_the_parsed_body():
    spelt = "".join(f"\\u{ord(c):04x}" for c in SECRET[:3]) + SECRET[3:]
    raw = f'[{{"taskType": "authentication", "apiKey": "{spelt}"}}]'.encode()
    assert encode_body(raw, SECRET) == {"body": [{"taskType": "authentication", "apiKey": API_KEY_PLACEHOLDER}]}


def test_a_key_in_a_body_that_is_not_json_is_scrubbed_too():
    assert encode_body(f"[{SECRET}".encode(), SECRET) == {"bodyText": f"[{API_KEY_PLACEHOLDER}"}
    raw = b"\xff" + SECRET.encode()
    assert base64.b64decode(encode_body(raw, SECRET)["bodyBase64"]) == b"\xff" + API_KEY_PLACEHOLDER.encode()


def test_file_names_are_readable_and_unique():
    first = file_name("contract_tests.test_bad_requests::test_x[b'']")
    second = file_name("contract_tests.test_bad_requests::test_x[b'   ']")
    assert first.startswith("test_bad_requests.test_x_b-") and first.endswith(".json")
    assert first != second


def test_a_short_key_is_scrubbed_from_the_authorization_header():
    from mock_server.recording import API_KEY_PLACEHOLDER, kept_headers

    kept = kept_headers({"Authorization": "Bearer abc"}, ("Authorization",), "abc")
    assert kept == {"Authorization": f"Bearer {API_KEY_PLACEHOLDER}"}


def imported_names(path: Path) -> set[str]:
    """The modules a file imports, by absolute name (the project imports nothing relatively)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


# The server's modules the contract suite may import: each imports none of the server's machinery (PyAV only in
# media, which the suite imports where it reads a result file).
NEUTRAL = {"mock_server", "mock_server.recording", "mock_server.schema_registry", "mock_server.paths"}
NEUTRAL |= {"mock_server.variation", "mock_server.media", "mock_server.containers"}


def imported_up_front(path: Path) -> set[str]:
    """The modules a file imports when it is imported itself: its top-level imports, not those in a function."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_suite_imports_only_the_servers_neutral_modules():
    suite = sorted((ROOT / "contract_tests").glob("*.py"))
    neutral = [ROOT / (module.replace(".", "/") + ".py") for module in sorted(NEUTRAL - {"mock_server"})]
    for path in [*suite, *neutral]:
        server = {module for module in imported_up_front(path) if module.split(".")[0] == "mock_server"}
        assert server <= NEUTRAL, (path.name, sorted(server - NEUTRAL))


def test_the_server_imports_nothing_of_the_contract_suite():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_names(path) if name.startswith("contract_tests"))
        for path in sorted((ROOT / "mock_server").rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_recording_format_imports_nothing_of_the_server_but_the_media_probe():
    imported = imported_names(ROOT / "mock_server" / "recording.py")
    assert {name for name in imported if name.split(".")[0] in ("mock_server", "contract_tests")} == {
        "mock_server.media"
    }
