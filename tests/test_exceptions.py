from __future__ import annotations

from mock_server.exceptions import PLATFORM_DOCS_URL, RunwareError, documentation_url


def test_documentation_points_at_the_parameter_on_the_model_page():
    assert documentation_url("providerSettings.sync.segments[2].audioEndTime").endswith(
        "#request-providersettings-sync-segments-audioendtime"
    )
    assert documentation_url("outputQuality").endswith("#request-outputquality")
    assert documentation_url(None) == documentation_url("[0]") == PLATFORM_DOCS_URL


def test_an_error_serialises_only_what_it_has():
    error = RunwareError("invalidTtl", "bad", parameter="ttl", task_type="videoInference", extra={"min": 60})
    assert error.to_json() == {
        "code": "invalidTtl",
        "message": "bad",
        "parameter": "ttl",
        "taskType": "videoInference",
        "documentation": documentation_url("ttl"),
        "min": 60,
    }
