from __future__ import annotations

import http.server
import urllib.request

from contract_tests.targets import MediaServer, MediaSet, QuietHTTPServer, describe_target
from mock_server.testing import BackgroundServer


def test_loopback_targets_are_local_and_the_mock_is_recognised():
    with BackgroundServer() as mock:
        described = describe_target(mock.url, "k")
    assert (described.is_local, described.is_mock) == (True, True)
    assert describe_target("http://localhost:9/v1", "k").is_mock is False
    remote = describe_target("https://api.runware.ai/v1", "k")
    assert (remote.is_local, remote.is_mock) == (False, False)


def test_fixture_media_is_served_and_measured():
    with MediaServer() as server:
        media = MediaSet.under(server.base_url)
        with urllib.request.urlopen(media.video) as response:
            assert response.read(12)[4:8] == b"ftyp"
    assert media.audio_seconds == 1.0


def test_the_media_server_prints_no_traceback_for_a_client_that_hung_up(capsys):
    server = QuietHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"), ValueError("a bug")):
        try:
            raise error
        except Exception:
            server.handle_error(None, ("127.0.0.1", 1))
    server.server_close()
    printed = capsys.readouterr().err
    assert "ValueError: a bug" in printed
    assert "BrokenPipeError" not in printed and "ConnectionResetError" not in printed
