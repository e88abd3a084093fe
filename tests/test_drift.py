"""`lipsync-contract drift`: a recording made against one mock (standing in for the real service) replayed against
an identical mock passes, and against a mock with a deliberate difference fails, naming it. Loopback only."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree

import pytest

from contract_tests.cli import main
from mock_server.config import Settings
from mock_server.testing import BackgroundServer
from tests.test_recording import record

RECORDED_KEY, MOCK_KEY = "real-service-key-0123456789", "drift-check-key"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    with BackgroundServer(Settings(api_keys=(RECORDED_KEY,), processing_rate=0.05)) as real_service:
        folder = tmp_path_factory.mktemp("drift") / "recording"
        record(real_service.url, RECORDED_KEY, folder)
        return folder


@pytest.fixture(scope="module")
def mock():
    with BackgroundServer(Settings(api_keys=(MOCK_KEY,), processing_rate=0.05)) as server:
        yield server


class RewritingProxy:
    """Forwards POST /v1 to a mock; `rewrite_request` and `rewrite_answer` change what passes through."""

    def __init__(self, upstream, rewrite_request=None, rewrite_answer=None):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if proxy.rewrite_request:
                    body = json.dumps(proxy.rewrite_request(json.loads(body))).encode()
                headers = {k: v for k, v in self.headers.items() if k in ("Authorization", "Content-Type")}
                request = urllib.request.Request(upstream, body, headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, answer, kind = response.status, response.read(), response.headers["Content-Type"]
                except urllib.error.HTTPError as error:
                    status, answer, kind = error.code, error.read(), error.headers["Content-Type"]
                if proxy.rewrite_answer:
                    answer = json.dumps(proxy.rewrite_answer(json.loads(answer))).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args):
                pass

        self.rewrite_request, self.rewrite_answer = rewrite_request, rewrite_answer
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def items(body, key="data"):
    return body.get(key, []) if isinstance(body, dict) else []


def rename_error_code(body):
    for error in items(body, "errors"):
        if error.get("code") == "invalidApiKey":
            error["code"] = "invalidKey"
    return body


def drop_seed(body):
    for item in items(body):
        item.pop("seed", None)
    return body


def rename_success(body):
    for item in items(body):
        if item.get("status") == "success":
            item["status"] = "completed"
    return body


def mp4_as_mov(tasks):
    return [{**task, "outputFormat": "MOV"} if task.get("outputFormat") == "MP4" else task for task in tasks]


def test_an_identical_mock_does_not_drift(recording, mock, tmp_path, capsys):
    code = main(["drift", str(recording), "--target", mock.url, "--api-key", MOCK_KEY, "--report", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "no drift: 5 cases" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["cases"], report["drifted"]) == (5, 0)
    suite = ElementTree.parse(tmp_path / "r.xml").getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "5", "0")


@pytest.mark.parametrize(
    ("rewrite_request", "rewrite_answer", "case", "what", "recorded", "now"),
    [
        (None, rename_error_code, "a_wrong_key", "error code @ parameter", "invalidApiKey", "invalidKey"),
        (None, drop_seed, "playable", "fields of success items", "seed: integer", "seed: absent"),
        (None, rename_success, "playable", "status progression", "success", "completed"),
        (mp4_as_mov, None, "playable", "download: container", "video/mp4", "video/quicktime"),
    ],
    ids=["error-code", "dropped-field", "status", "container"],
)
def test_a_deliberate_difference_is_drift_and_named(
    recording, mock, tmp_path, capsys, rewrite_request, rewrite_answer, case, what, recorded, now
):
    proxy = RewritingProxy(mock.url, rewrite_request, rewrite_answer)
    try:
        code = main(
            ["drift", str(recording), "--target", proxy.url, "--api-key", MOCK_KEY, "--report", str(tmp_path / "r")]
        )
    finally:
        proxy.close()
    out = capsys.readouterr().out
    assert code == 1, out
    header, *rows = out.split("\n\ndrift:")[0].splitlines()
    assert header.split() == ["case", "what", "differs", "recorded", "now"]
    assert any(case in row and what in row and recorded in row and now in row for row in rows), out
    report = json.loads((tmp_path / "r.json").read_text())
    (drifted,) = [r for r in report["results"] if r["differences"]]
    assert case in drifted["case"]
    failures = ElementTree.parse(tmp_path / "r.xml").getroot().findall("testcase/failure")
    assert len(failures) == 1 and what in failures[0].get("message")
