from __future__ import annotations

import pytest

from mock_server.cli import parse_settings
from mock_server.config import API_KEYS_ENV, Settings, api_keys_from_env


def test_defaults(monkeypatch):
    monkeypatch.delenv(API_KEYS_ENV, raising=False)
    assert parse_settings([]) == Settings()
    assert (Settings().host, Settings().port, Settings().processing_rate) == ("127.0.0.1", 8080, 0.5)


def test_flags_and_environment_keys(monkeypatch):
    monkeypatch.setenv(API_KEYS_ENV, " envkey , other,")
    settings = parse_settings(
        ["--host", "0.0.0.0", "--port", "9000", "--api-key", "a", "--api-key", "b", "--processing-rate", "0"]
    )
    assert settings.api_keys == ("a", "b", "envkey", "other")
    assert (settings.host, settings.port, settings.processing_rate) == ("0.0.0.0", 9000, 0.0)


@pytest.mark.parametrize("rate", ["-1", "nan", "x"])
def test_a_negative_or_non_numeric_rate_is_refused(rate, capsys):
    with pytest.raises(SystemExit):
        parse_settings(["--processing-rate", rate])


def test_api_keys_from_an_empty_environment():
    assert api_keys_from_env({}) == ()


def test_hardening_flags():
    flags = "--no-control --control-token t --allow-host media.example.com --allow-host *"
    flags += " --max-tasks-per-request 5 --retention 3600 --chaos 0.1 --seed 3"
    settings = parse_settings(flags.split())
    assert (settings.control, settings.control_token, settings.allowed_hosts) == (
        False,
        "t",
        ("media.example.com", "*"),
    )
    assert (settings.max_tasks_per_request, settings.retention, settings.chaos, settings.seed) == (5, 3600.0, 0.1, 3)
