"""The Prism benchmark says how to install Prism when it is missing (Prism is not a dependency)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.prism import prism_serving


def test_a_missing_prism_is_named_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("PRISM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="npm install -g @stoplight/prism-cli"), prism_serving(Path("x.json"), 1):
        pass
