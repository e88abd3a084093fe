"""`lipsync-contract schema-drift`: the platform's published schemas for the model compared with the mock's own
(`schemas/`), by meaning, not by text. Free: the platform publishes them without a key.

The platform answers `GET {schemas URL}/resolve/<model>` with `{"requestSchema": …, "responseSchema": …,
"documentation": …}`. The request schema is compared with `video-inference-task.json`; the response schema (one
result) with the success branch of `result-item.json`. What is compared, parameter by parameter at every depth,
and which spellings count as the same: `contract_tests.schema_meaning`.

The mock's schemas are read as the files the package ships (`mock_server/schemas/`, through `importlib.resources`),
without importing any of the server's modules.

Exit status: 0 the schemas agree, 1 drift, 2 the check could not run (usage, the schemas service did not answer,
an answer that is not a published schema or holds a schema its metaschema refuses).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from contract_tests.reports import JUnitCase, aligned, paths_beside, write_junit
from contract_tests.schema_meaning import Meaning, label, meaning, shown

NO_DRIFT, DRIFT, USAGE_ERROR = 0, 1, 2
DEFAULT_SCHEMAS_URL = "https://schemas.runware.ai"
REQUEST_FILE = "video-inference-task.json"
RESPONSE_FILE, RESPONSE_POINTER = "result-item.json", "#/$defs/success"
PUBLISHED_BASE_URI = "urn:published-schema:"  # the base of a published schema that names no $id of its own
TOP_LEVEL = "(top level)"


class SchemaSourceError(Exception):
    """The published schemas could not be had; the message is the one line the command prints."""


@dataclass(frozen=True)
class Difference:
    schema: str  # request | response
    parameter: str
    what: str
    published: str
    mock: str


@dataclass(frozen=True)
class Comparison:
    source: str  # the URL fetched or the file read
    documentation: str | None
    parameters: dict[str, list[str]]  # request | response → every parameter path either side names
    differences: list[Difference]


# The two sides


def mock_schemas() -> dict[str, Any]:
    """The mock's schema files by name, numbers read exactly."""
    folder = resources.files("mock_server") / "schemas"
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"), parse_float=Decimal)
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


def mock_meanings(schemas: dict[str, Any]) -> dict[str, Meaning]:
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in schemas.values()
    )
    request_id, response_id = schemas[REQUEST_FILE]["$id"], schemas[RESPONSE_FILE]["$id"]
    request = registry.resolver().lookup(request_id)
    response = registry.resolver().lookup(response_id + RESPONSE_POINTER)
    return {
        "request": meaning(request.contents, request.resolver),
        "response": meaning(response.contents, response.resolver),
    }


def model_of(schemas: dict[str, Any]) -> str:
    """The model the mock's schemas describe: the one `model` value the task schema allows."""
    return schemas[REQUEST_FILE]["properties"]["model"]["const"]


def fetch_published(schemas_url: str, model: str, timeout: float) -> tuple[str, bytes]:
    url = f"{schemas_url.rstrip('/')}/resolve/{model}"
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "lipsync-contract"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return url, answer.read()
    except urllib.error.HTTPError as error:
        raise SchemaSourceError(f"{url} answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        raise SchemaSourceError(f"{url} did not answer ({reason})") from error


def read_published(file: Path) -> tuple[str, bytes]:
    try:
        return str(file), file.read_bytes()
    except OSError as error:
        raise SchemaSourceError(f"cannot read {file} ({error.strerror or error})") from error


def published_meanings(source: str, body: bytes) -> tuple[str | None, dict[str, Meaning]]:
    """(its documentation URL, the meaning of its request and response schemas)."""
    try:
        document = json.loads(body, parse_float=Decimal)
    except ValueError as error:
        raise SchemaSourceError(f"{source} is not JSON ({error})") from error
    if not isinstance(document, dict):
        raise SchemaSourceError(f"{source} is not a published schema: not a JSON object")
    meanings = {}
    for side, key in (("request", "requestSchema"), ("response", "responseSchema")):
        schema = document.get(key)
        if not isinstance(schema, dict):
            raise SchemaSourceError(f"{source} is not a published schema: no {key} object")
        try:  # against its own dialect's metaschema, so what is compared below is a schema
            validator_for(schema, default=Draft202012Validator).check_schema(schema)
        except SchemaError as error:
            reason = " ".join(error.message.split())[:200]
            raise SchemaSourceError(
                f"{source}: {key} is not a valid JSON Schema at {error.json_path}: {reason}"
            ) from error
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        uri = resource.id() or PUBLISHED_BASE_URI + key
        try:
            resolver = Registry().with_resource(uri, resource).resolver(base_uri=uri)
            meanings[side] = meaning(schema, resolver)
        except Unresolvable as error:
            raise SchemaSourceError(f"{source}: {key} refers to {error.ref}, which it does not hold") from error
    documentation = document.get("documentation")
    return (documentation if isinstance(documentation, str) else None), meanings


# Comparing


def differences(side: str, published: Meaning, mock: Meaning) -> list[Difference]:
    """Each facet that differs, parameter by parameter; a parameter only one side has is one row, its own
    parameters left out."""
    found: list[Difference] = []
    one_sided: list[str] = []
    for path in dict.fromkeys([*published, *mock]):
        if any(path.startswith((missing + ".", missing + "[")) for missing in one_sided):
            continue
        shown_path = path or TOP_LEVEL
        if path not in published or path not in mock:
            one_sided.append(path)
            found.append(
                Difference(
                    side,
                    shown_path,
                    "parameter",
                    "present" if path in published else "absent",
                    "present" if path in mock else "absent",
                )
            )
            continue
        for facet in dict.fromkeys([*published[path], *mock[path]]):
            then, now = published[path].get(facet), mock[path].get(facet)
            if then != now:
                found.append(Difference(side, shown_path, label(facet), shown(facet, then), shown(facet, now)))
    return found


def compare(source: str, body: bytes, schemas: dict[str, Any]) -> Comparison:
    """The published answer `body` (from `source`) against the mock's `schemas`."""
    documentation, published = published_meanings(source, body)
    mock = mock_meanings(schemas)
    return Comparison(
        source=source,
        documentation=documentation,
        parameters={side: [p or TOP_LEVEL for p in dict.fromkeys([*published[side], *mock[side]])] for side in mock},
        differences=[d for side in mock for d in differences(side, published[side], mock[side])],
    )


# Reporting


def table(found: list[Difference]) -> str:
    rows = [("in", "parameter", "what differs", "published", "mock")]
    rows += [(d.schema, d.parameter, d.what, d.published, d.mock) for d in found]
    return aligned(rows, (8, 60, 30, 60, 60))


def write_reports(path: Path, comparison: Comparison) -> tuple[Path, ...]:
    """PATH.json (every difference) and PATH.xml (JUnit: one test case per parameter, failed when it differs)."""
    as_json, as_xml = paths_beside(path, (".json", ".xml"))
    document = {
        "published": comparison.source,
        "documentation": comparison.documentation,
        "parameters": sum(len(paths) for paths in comparison.parameters.values()),
        "drifted": len({(d.schema, d.parameter) for d in comparison.differences}),
        "differences": [asdict(d) for d in comparison.differences],
    }
    as_json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    cases = [
        JUnitCase(
            side,
            parameter,
            tuple(
                f"{d.what}: published {d.published}; mock {d.mock}"
                for d in comparison.differences
                if (d.schema, d.parameter) == (side, parameter)
            ),
        )
        for side, paths in comparison.parameters.items()
        for parameter in paths
    ]
    write_junit(as_xml, "lipsync-schema-drift", cases)
    return as_json, as_xml


# The command


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A usage error as one line (argparse would print the usage first)."""
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see --help)\n")


def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="lipsync-contract schema-drift",
        description="Compare the platform's published schemas for the model with the mock's, by meaning.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--schemas-url", metavar="URL", help=f"the platform's schema service (default {DEFAULT_SCHEMAS_URL})"
    )
    source.add_argument("--schema", type=Path, metavar="FILE", help="a saved answer of the schema service, offline")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the service")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write FILE.json and FILE.xml (JUnit)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be more than 0")
    if args.schemas_url is not None and not args.schemas_url.startswith(("http://", "https://")):
        parser.error(f"--schemas-url must be an http or https URL, not {args.schemas_url!r}")

    schemas = mock_schemas()
    model = model_of(schemas)
    try:
        if args.schema:
            where, body = read_published(args.schema)
        else:
            where, body = fetch_published(args.schemas_url or DEFAULT_SCHEMAS_URL, model, args.timeout)
        comparison = compare(where, body, schemas)
    except SchemaSourceError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return USAGE_ERROR

    found = comparison.differences
    compared = sum(len(paths) for paths in comparison.parameters.values())
    if found:
        drifted = len({(d.schema, d.parameter) for d in found})
        print(table(found))
        plural = "" if len(found) == 1 else "s"
        print(
            f"\nschema drift: {len(found)} difference{plural} in {drifted} of {compared} parameters of {model}, "
            f"{comparison.source} against the mock's schemas"
        )
    else:
        print(
            f"no schema drift: {compared} parameters of {model} agree, {comparison.source} against the mock's schemas"
        )
    if args.report:
        for written in write_reports(args.report, comparison):
            print(f"report: {written}")
    return DRIFT if found else NO_DRIFT
