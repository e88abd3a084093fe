"""The control API's JavaScript client (`http/client_script.py`, `http/static/client.mjs`): served by the mock at
/__mock/client.mjs while the control API is on, with or without its token. The script run under node — alone, and
as the example suite of examples/js (docs/javascript.md) — is the opt-in group `js` (conftest.py):
`.venv/bin/pytest -m js tests/test_client_script.py`, after `npm ci --prefix examples/js --ignore-scripts`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mock_server.config import Settings
from mock_server.http import client_script
from mock_server.testing import BackgroundServer, MockControl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "js"
INSTALL = "npm ci --prefix examples/js --ignore-scripts --no-audit --no-fund"
SCRIPT = (Path(client_script.__file__).parent / "static" / "client.mjs").read_bytes()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_mock_serves_its_javascript_client():
    with BackgroundServer() as server:
        status, content_type, body = get(f"{server.base_url}/__mock/client.mjs")
    assert (status, content_type) == (200, "text/javascript; charset=utf-8")
    assert body == SCRIPT
    assert b"export class MockControl" in body


def test_with_a_control_token_the_client_is_served_without_it_and_its_calls_need_it():
    with BackgroundServer(Settings(control_token="s3cret")) as server:
        status, _, body = get(f"{server.base_url}/__mock/client.mjs")
        refused, _, _ = get(f"{server.base_url}/__mock/faults")
    assert (status, body) == (200, SCRIPT)
    assert refused == 401


def test_without_the_control_api_there_is_no_client():
    with BackgroundServer(Settings(control=False)) as server:
        status, _, _ = get(f"{server.base_url}/__mock/client.mjs")
    assert status == 404


def node() -> str:
    """The node binary, once the example's packages are installed; else a failure that says how to install them."""
    found = shutil.which("node")
    if found and (EXAMPLE / "node_modules" / "@runware" / "sdk-js").is_dir():
        return found
    pytest.fail(f"no node, or the example's packages are not installed (needs node 20 and npm): {INSTALL}")


def run_node(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node(), *arguments],
        cwd=EXAMPLE,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.js
def test_the_example_suite_passes_against_the_mock():
    """examples/js under `node --test`, against LIPSYNC_MOCK_URL when it is set (a container, say), else against a
    mock this test starts with one API key."""
    if os.environ.get("LIPSYNC_MOCK_URL"):
        result = run_node(["--test", "--test-concurrency=1"], {})
    else:
        with BackgroundServer(Settings(api_keys=("js-key",))) as server:
            result = run_node(
                ["--test", "--test-concurrency=1"],
                {"LIPSYNC_MOCK_URL": server.base_url, "LIPSYNC_MOCK_API_KEYS": "js-key"},
            )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "\n# fail 0\n" in result.stdout
    assert "\n# pass 12\n" in result.stdout, result.stdout[-2000:]  # every test of the example ran


CLIENT_CALLS = """
const base = process.env.LIPSYNC_MOCK_URL;
const source = await (await fetch(`${base}/__mock/client.mjs`)).text();
const { MockControl, ControlError } = await import(`data:text/javascript,${encodeURIComponent(source)}`);
const control = new MockControl(base, { token: "s3cret", namespace: "worker-1" });
const seen = {};
seen.seed = await control.seed(7);
seen.lifecycle = await control.setLifecycle("after", { seconds: 2 });
seen.fault = await control.addFault("status=502", { taskType: "getResponse", times: 2 });
seen.faults = await control.faults();
seen.balance = await control.setBalance(12.5);
seen.accounts = await control.accounts();
seen.tasks = await control.tasks({ limit: 5 });
seen.requests = await control.requests({ outcome: "ok" });
seen.deliveries = await control.deliveries({ taskUUID: "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b" });
try {
  await new MockControl(base).faults();
} catch (error) {
  seen.withoutToken = [error instanceof ControlError, error.status, error.body.errors[0].parameter];
}
try {
  await control.complete("9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b");
} catch (error) {
  seen.unknownTask = [error.status, error.body.errors[0].code];
}
seen.cleared = await control.clearFaults();
seen.reset = await control.reset();
console.log(JSON.stringify(seen));
"""


@pytest.mark.js
def test_the_client_calls_the_control_api_with_its_token_and_namespace():
    with BackgroundServer(Settings(control_token="s3cret")) as server:
        other = MockControl(server.base_url, token="s3cret", namespace="other")
        other.add_fault("status=500")
        result = run_node(["--input-type=module", "-e", CLIENT_CALLS], {"LIPSYNC_MOCK_URL": server.base_url})
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout)
        assert [rule["fault"] for rule in other.faults()] == ["status=500"]  # another namespace's rules stay
    assert seen["seed"] == {"seed": 7}
    assert seen["lifecycle"] == {"mode": "after", "seconds": 2.0, "polls": 1, "taskUUID": None}
    assert seen["fault"] == {
        "fault": "status=502",
        "taskUUID": None,
        "taskType": "getResponse",
        "times": 2,
        "namespace": "worker-1",
    }
    assert seen["faults"] == [seen["fault"]]
    assert seen["balance"] == {"amount": 12.5, "account": None}
    assert seen["accounts"] == {"startingBalance": 12.5, "accounts": []}
    assert (seen["tasks"], seen["requests"], seen["deliveries"]) == ([], [], [])
    assert seen["withoutToken"] == [True, 401, "X-Mock-Control-Token"]
    assert seen["unknownTask"][0] == 404
    assert (seen["cleared"], seen["reset"]) == ([], {"reset": True})


def test_the_javascript_page_shows_the_code_the_example_runs():
    """Every JavaScript block of docs/javascript.md is, as written, part of a file of examples/js."""
    page = (ROOT / "docs" / "javascript.md").read_text()
    blocks = re.findall(r"```js\n(.*?)\n```", page, re.DOTALL)
    sources = [path.read_text() for path in sorted(EXAMPLE.rglob("*.js")) if "node_modules" not in path.parts]
    assert len(blocks) >= 4
    for block in blocks:
        assert any(block in source for source in sources), block
