from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from mock_server.cli import build_parser, parse_settings
from mock_server.config import Settings, env_var, settings_fields


def test_defaults():
    assert parse_settings([], environ={}) == Settings()
    assert (Settings().host, Settings().port, Settings().processing_rate) == ("127.0.0.1", 8080, 0.5)


def test_flags_and_environment_keys():
    settings = parse_settings(
        ["--host", "0.0.0.0", "--port", "9000", "--api-key", "a", "--api-key", "b", "--processing-rate", "0"],
        environ={"LIPSYNC_MOCK_API_KEYS": " envkey , other,"},
    )
    assert settings.api_keys == ("a", "b", "envkey", "other")
    assert (settings.host, settings.port, settings.processing_rate) == ("0.0.0.0", 9000, 0.0)


def test_every_setting_has_a_flag_and_an_environment_variable():
    help_text = build_parser().format_help()
    for item in settings_fields():
        assert (item.metadata["flag"] or "--" + item.name.replace("_", "-")) in help_text
        assert env_var(item) in help_text


def test_the_environment_configures_every_kind_of_setting_and_a_flag_wins():
    environ = {
        "LIPSYNC_MOCK_PORT": "9001",
        "LIPSYNC_MOCK_CONTROL": "no",
        "LIPSYNC_MOCK_RETENTION": "60",
        "LIPSYNC_MOCK_ALLOWED_HOSTS": "a.example,b.example",
        "LIPSYNC_MOCK_DATA_DIR": "/tmp/x",
    }
    settings = parse_settings(["--port", "9002"], environ=environ)
    assert (settings.port, settings.control, settings.retention) == (9002, False, 60.0)
    assert settings.allowed_hosts == ("a.example", "b.example")
    assert str(settings.data_dir) == "/tmp/x"


@pytest.mark.parametrize("rate", ["-1", "nan", "inf", "x"])
def test_a_negative_or_non_numeric_rate_is_refused(rate, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_settings(["--processing-rate", rate], environ={})
    assert stopped.value.code == 2
    assert "--processing-rate" in capsys.readouterr().err


def test_a_bad_environment_value_names_the_variable(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_settings([], environ={"LIPSYNC_MOCK_PORT": "eighty"})
    assert stopped.value.code == 2
    assert "LIPSYNC_MOCK_PORT='eighty'" in capsys.readouterr().err


def test_hardening_flags():
    flags = "--no-control --control-token t --allow-host media.example.com --allow-host *"
    flags += " --max-tasks-per-request 5 --retention 3600 --chaos 0.1 --seed 3 --delivery-first-delay 0.1"
    settings = parse_settings(flags.split(), environ={})
    assert (settings.control, settings.control_token, settings.allowed_hosts) == (
        False,
        "t",
        ("media.example.com", "*"),
    )
    assert (settings.max_tasks_per_request, settings.retention, settings.chaos, settings.seed) == (5, 3600.0, 0.1, 3)
    assert settings.delivery_first_delay == 0.1
    assert dataclasses.replace(settings, control=True).control


def test_version_and_a_taken_port_exit_cleanly(tmp_path):
    version = subprocess.run([sys.executable, "-m", "mock_server", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("lipsync-mock ")
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "mock_server", "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr
