"""BackgroundServer, the pytest plugin's server: on a --data-dir it resumes unfinished work once it listens."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from contract_tests.payloads import data_uri, example_task
from mock_server.config import Settings
from mock_server.testing import BackgroundServer

VIDEO = (Path(__file__).resolve().parent.parent / "fixtures" / "media" / "speaker.mp4").read_bytes()


def post(url: str, tasks) -> dict:
    request = urllib.request.Request(url, json.dumps(tasks).encode(), {"Authorization": "Bearer k"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)


def test_work_left_unfinished_is_resumed_after_a_restart(tmp_path):
    answering = threading.Event()  # until set, the media server holds every request

    class Media(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answering.wait(20)
            self.send_response(200)
            self.send_header("Content-Length", str(len(VIDEO)))
            self.end_headers()
            self.wfile.write(VIDEO)

        def log_message(self, *args: object) -> None:
            pass

    media = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Media)
    threading.Thread(target=media.serve_forever, daemon=True).start()
    task = {**example_task(), "inputs": {"video": f"http://127.0.0.1:{media.server_port}/v.mp4"}}
    task["inputs"]["audio"] = data_uri("voice.wav")
    settings = Settings(processing_rate=0, poll_wait=0.2, data_dir=tmp_path / "data")
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    try:
        with BackgroundServer(settings) as mock:
            assert post(mock.url, [task])["data"][0]["taskUUID"] == task["taskUUID"]
            assert post(mock.url, poll)["data"][0]["status"] == "processing"  # its download is held
        answering.set()
        with BackgroundServer(settings) as mock:
            deadline = time.monotonic() + 30
            while (status := post(mock.url, poll)["data"][0]["status"]) == "processing" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert status == "success"
    finally:
        answering.set()
        media.shutdown()
