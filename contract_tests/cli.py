"""`lipsync-contract`: the contract suite from an installed package, the drift check of a recording, and the
drift check against the platform's published schemas.

lipsync-contract --target URL --api-key KEY [--allow-spend USD] [--record DIR] [any pytest option]
lipsync-contract drift DIR --target URL [--api-key KEY] [--report FILE]
lipsync-contract schema-drift [--schemas-url URL | --schema FILE] [--timeout S] [--report FILE]
"""

from __future__ import annotations

import importlib.util
import sys

USAGE_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["drift"]:
        from contract_tests.drift import main as drift

        return drift(args[1:])
    if args[:1] == ["schema-drift"]:
        from contract_tests.schema_drift import main as schema_drift

        return schema_drift(args[1:])
    return run_suite(args)


def run_suite(args: list[str]) -> int:
    """pytest on the installed `contract_tests` package; its options come from the installed plugin."""
    # Looked up, not imported: pytest must import hypothesis itself to load its plugin cleanly.
    missing = [name for name in ("pytest", "hypothesis") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"lipsync-contract: {', '.join(missing)} missing: pip install 'lipsync-mock[contract]'", file=sys.stderr)
        return USAGE_ERROR
    import pytest

    # This command lives in the package the plugin comes from, so pytest finds `contract_tests` imported before
    # it could mark it for assertion rewriting; only this module is, and it has no asserts to rewrite.
    already_imported = "ignore:Module already imported so cannot be rewritten; contract_tests:pytest.PytestWarning"
    # Without the mock's own pytest plugin (its `lipsync_mock` fixture, which the suite does not use): loading it
    # imports the whole server, which a run against a target must not need.
    no_mock_plugin = ["-p", "no:lipsync_mock"]
    return int(pytest.main(["--pyargs", "contract_tests", "-W", already_imported, *no_mock_plugin, *args]))


if __name__ == "__main__":
    sys.exit(main())
