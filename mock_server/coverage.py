"""Client coverage: what a client's traffic exercised of the contract the mock knows, per namespace.

The denominator is made from the schemas (every parameter of every task type, each enum and boolean value,
each documented minimum and maximum, the validation codes their names make), the error catalogue, the
result statuses, the fault kinds a task can carry, the delivery outcomes, the transports and the forms a media
input takes. A parameter added to a schema, or a code to the catalogue, is in it by itself.

What was met is a set of entries of that finite denominator, per namespace (and at most `MAX_NAMESPACES` of
them), so the state is bounded whatever the traffic. Recording a task costs one walk over the values it holds.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mock_server import exceptions
from mock_server.config import COMPAT_CHOICES, Compat
from mock_server.faults import FAULT_KINDS, Fault
from mock_server.inputs import UUID
from mock_server.schema_registry import schemas
from mock_server.validation import task_schema_names

Entry = tuple[str, str]  # (section, name)

SECTIONS: dict[str, str] = {
    "parameters": "each request parameter the client sent, in a task the mock accepted",
    "values": "each enum and boolean value it sent",
    "boundaries": "each documented minimum and maximum it sent exactly",
    "errors": "each error code it received",
    "outcomes": "each task status it observed: polls still processing, success, task failure",
    "faults": "each fault a task of its carried",
    "deliveries": "each delivery outcome of its webhooks and uploads",
    "transports": "each transport it used",
    "media": "each form its media inputs took",
}

REST, WEBSOCKET, WEBSOCKET_RESUME = "REST", "WebSocket", "WebSocket resume"
TRANSPORTS = (REST, WEBSOCKET, WEBSOCKET_RESUME)
DELIVERY_KINDS = ("webhook", "upload")  # as `delivery.Deliverer` names its attempts
DELIVERED, RETRIED, GAVE_UP = "delivered", "retried", "given up"

# The parameters that name media, and the forms `inputs.MediaLoader.load` reads a reference in, in its order.
MEDIA_PARAMETERS = ("inputs.video", "inputs.audio", "providerSettings.sync.segments[].audio", "mediaStorage.media")
MEDIA_FORMS = ("URL", "mediaUUID", "data URI", "base64")

# Codes the mock answers before a task array reaches the dispatcher, or about its own machinery: a client's task
# traffic never receives them through the dispatcher, so they are no part of its coverage.
NOT_ANSWERED_TO_TASKS = frozenset(
    code.code
    for code in (
        exceptions.REQUEST_TOO_LARGE,
        exceptions.NOT_FOUND,
        exceptions.METHOD_NOT_ALLOWED,
        exceptions.REQUEST_FAILED,
        exceptions.INTERNAL_ERROR,
        exceptions.STORAGE_FULL,
        exceptions.INVALID_MOCK_FAULT,
        exceptions.INVALID_MOCK_NAMESPACE,
        exceptions.INVALID_CONTROL_TOKEN,
        exceptions.INVALID_CONTROL_REQUEST,
        exceptions.UNKNOWN_HOST,
        exceptions.FORBIDDEN_ORIGIN,
        exceptions.FORBIDDEN_SELF_REQUEST,
        exceptions.TOO_MANY_CONNECTIONS,
        exceptions.REQUEST_TIMEOUT,
    )
)

# Each namespace keeps its own set; past this many, the one least recently recorded to is dropped first.
MAX_NAMESPACES = 1024


def media_form(reference: str) -> str:
    """The form of a media reference, decided as `inputs.MediaLoader.load` decides it."""
    if reference.startswith(("http://", "https://")):
        return "URL"
    if UUID.match(reference):
        return "mediaUUID"
    if reference.startswith("data:"):
        return "data URI"
    return "base64"


@dataclass
class _Parameter:
    """One property of a task schema and the entries a value of it meets, worked out once."""

    entry: Entry
    values: dict[Any, Entry] = field(default_factory=dict)  # an enum's or a boolean's values
    minimum: tuple[float, Entry] | None = None
    maximum: tuple[float, Entry] | None = None
    is_media: bool = False
    children: dict[str, _Parameter] = field(default_factory=dict)  # an object's properties
    items: _Parameter | None = None  # an array's items
    # Whether a value of it meets more than the parameter (something inside, a value, a bound, a form): the walk
    # goes into no other, so a segment's 20 plain numbers cost 20 set additions and nothing more.
    reads_value: bool = False

    def finished(self) -> _Parameter:
        self.reads_value = bool(self.children or self.items or self.values or self.minimum or self.maximum)
        self.reads_value |= self.is_media
        return self


@dataclass(frozen=True)
class _Contract:
    """The denominator: every entry by section, in order, and how a task's values meet them."""

    entries: dict[str, tuple[str, ...]]
    tasks: dict[str, _Parameter]  # by taskType
    known: frozenset[Entry]


def _resolve(schema: dict[str, Any], file_name: str) -> tuple[dict[str, Any], str]:
    """A subschema with its `$ref` followed (to a file, or to `$defs` in one)."""
    while "$ref" in schema:
        target, _, pointer = schema["$ref"].partition("#")
        file_name = target.rpartition("/")[2] or file_name
        schema = schemas()[file_name]
        for part in filter(None, pointer.split("/")):
            schema = schema[part]
    return schema, file_name


def _code_name(prefix: str, name: str) -> str:
    return prefix + name[0].upper() + name[1:]


class _Builder:
    def __init__(self) -> None:
        self.entries: dict[str, list[str]] = {section: [] for section in SECTIONS}

    def add(self, section: str, name: str) -> Entry:
        if name not in self.entries[section]:
            self.entries[section].append(name)
        return section, name

    def task(self, task_type: str, file_name: str) -> _Parameter:
        schema = schemas()[file_name]
        prefix = "" if task_type == "videoInference" else f"{task_type}."
        self.add("parameters", f"taskType={task_type}")
        root = _Parameter(("parameters", f"taskType={task_type}"))
        self._object(root, schema, file_name, prefix, skip=("taskType",))
        return root

    def _object(
        self, node: _Parameter, schema: dict[str, Any], file_name: str, prefix: str, skip: Iterable[str] = ()
    ) -> None:
        for required in _required(schema):
            if required not in skip:
                self.add("errors", _code_name("missing", required))
        # The larger of an x-greaterThan pair can never sit at its minimum: that is no boundary a client can touch.
        above = set(schema.get("x-greaterThan", {}))
        for name, sub in schema.get("properties", {}).items():
            if name in skip:
                continue
            sub, sub_file = _resolve(sub, file_name)
            node.children[name] = self._property(f"{prefix}{name}", name, sub, sub_file, name in above)

    def _property(
        self, path: str, name: str, schema: dict[str, Any], file_name: str, above_a_sibling: bool = False
    ) -> _Parameter:
        node = _Parameter(("parameters", path), is_media=path in MEDIA_PARAMETERS)
        if "properties" in schema:  # an object is met through what is inside it
            node.entry = ("", path)
            self.add("errors", _code_name("invalid", name))
            self._object(node, schema, file_name, f"{path}.")
            return node.finished()
        self.add("parameters", path)
        if "items" in schema:
            self.add("errors", _code_name("invalid", name))
            items, items_file = _resolve(schema["items"], file_name)
            node.items = self._item(f"{path}[]", name, items, items_file)
            return node.finished()
        self._leaf(node, path, name, schema, above_a_sibling)
        return node.finished()

    def _item(self, path: str, name: str, schema: dict[str, Any], file_name: str) -> _Parameter:
        node = _Parameter(("", path))
        if "properties" in schema:
            self._object(node, schema, file_name, f"{path}.")
        else:
            self._leaf(node, path, name, schema)
        return node.finished()

    def _leaf(
        self, node: _Parameter, path: str, name: str, schema: dict[str, Any], above_a_sibling: bool = False
    ) -> None:
        if "enum" in schema:
            self.add("errors", _code_name("unsupported", name))
            node.values = {value: self.add("values", f"{path}={value}") for value in schema["enum"]}
        else:
            self.add("errors", _code_name("invalid", name))
        if schema.get("type") == "boolean":
            node.values = {value: self.add("values", f"{path}={json.dumps(value)}") for value in (True, False)}
        for keyword in ("maximum",) if above_a_sibling else ("minimum", "maximum"):
            if keyword in schema:
                bound = schema[keyword]
                entry = self.add("boundaries", f"{path}={json.dumps(bound)} ({keyword})")
                setattr(node, keyword, (bound, entry))


def _required(schema: dict[str, Any]) -> Iterator[str]:
    """Every name the schema can require: plainly, by `dependentRequired`, or by `if`/`then`/`else`."""
    yield from schema.get("required", ())
    for needed in schema.get("dependentRequired", {}).values():
        yield from needed
    for branch in ("then", "else"):
        yield from schema.get(branch, {}).get("required", ())


@cache
def contract(credit_code: str) -> _Contract:
    """The denominator under the credit code --compat answers with, made once from the schemas and the catalogue."""
    builder = _Builder()
    envelope = schemas()["task-array.json"]["items"]
    for name in envelope.get("required", ()):
        builder.add("errors", _code_name("missing", name))
    for name, sub in envelope.get("properties", {}).items():
        if "anyOf" in sub:  # the task types, read as one list of allowed values
            builder.add("errors", _code_name("unsupported", name))
    # The model's own task first: its entries lead each section, and a summary that names the first few.
    ordered = sorted(task_schema_names().items(), key=lambda pair: pair[0] != "videoInference")
    tasks = {task_type: builder.task(task_type, file_name) for task_type, file_name in ordered}
    unchosen = set(COMPAT_CHOICES["insufficient-credits-code"]) - {credit_code}
    for code in exceptions.CATALOGUE:
        if code not in NOT_ANSWERED_TO_TASKS and code not in unchosen:
            builder.add("errors", code)
    for status in _task_statuses():
        builder.add("outcomes", f"status={status}")
    for kind in FAULT_KINDS:
        builder.add("faults", kind)
    for kind in DELIVERY_KINDS:
        for outcome in (DELIVERED, RETRIED, GAVE_UP):
            builder.add("deliveries", f"{kind} {outcome}")
    for transport in TRANSPORTS:
        builder.add("transports", transport)
    for form in MEDIA_FORMS:
        builder.add("media", form)
    entries = {section: tuple(names) for section, names in builder.entries.items()}
    known = frozenset((section, name) for section, names in entries.items() for name in names)
    return _Contract(entries, tasks, known)


def _task_statuses() -> list[str]:
    """The statuses a poll answers a task with: each `status` const of the result item's forms, and the error's."""
    items = schemas()["result-item.json"]["$defs"].values()
    found = [form["properties"]["status"]["const"] for form in items if "status" in form.get("properties", {})]
    return [*found, schemas()["error.json"]["properties"]["status"]["const"]]


class ClientCoverage:
    """Owns what each namespace's traffic met of the contract; the recorders are cheap and never raise on what a
    client sent (they run after validation, on answers the mock itself made)."""

    def __init__(self, compat: Compat | None = None) -> None:
        self._contract = contract((compat or Compat()).insufficient_credits_code)
        self._met: OrderedDict[str, set[Entry]] = OrderedDict()

    # Recording.

    def sent(self, namespace: str, task: dict[str, Any]) -> None:
        """A task the mock accepted as valid: its parameters, values, boundaries and media forms."""
        root = self._contract.tasks.get(task.get("taskType", ""))
        if root is None:
            return
        met = self._of(namespace)
        met.add(root.entry)
        _walk(root, task, met)

    def answered(self, namespace: str, body: dict[str, Any], transport: str | None = None) -> None:
        """An answer the client received: its error codes and the task statuses in it."""
        found: list[Entry] = [] if transport is None else [("transports", transport)]
        for item in body.get("data") or ():
            if isinstance(item, dict) and "status" in item:
                found.append(("outcomes", f"status={item['status']}"))
        for error in body.get("errors") or ():
            if isinstance(error, dict):
                found.append(("errors", str(error.get("code"))))
                if "status" in error:
                    found.append(("outcomes", f"status={error['status']}"))
        self._add(namespace, found)

    def faults_met(self, namespace: str, faults: Iterable[Fault]) -> None:
        """Faults an acknowledged task carries, or a request fault that ran."""
        self._add(namespace, [("faults", fault.kind) for fault in faults])

    def delivery(self, namespace: str, kind: str, *, delivered: bool, attempts: int) -> None:
        """A delivery done: sent in the end or given up, after `attempts` tries."""
        found = [("deliveries", f"{kind} {DELIVERED if delivered else GAVE_UP}")]
        if attempts > 1:
            found.append(("deliveries", f"{kind} {RETRIED}"))
        self._add(namespace, found)

    def transport(self, namespace: str, transport: str) -> None:
        """A transport used outside a task array (a WebSocket session resumed)."""
        self._add(namespace, [("transports", transport)])

    def clear(self, namespace: str | None = None) -> None:
        """Forget what one namespace, or (None) every namespace, met."""
        if namespace is None:
            self._met.clear()
        else:
            self._met.pop(namespace, None)

    # Reading.

    def report(self, namespace: str | None = None) -> dict[str, Any]:
        """Every section with its entries (met or not) and percentage, and the overall percentage: of one
        namespace, or (None) of all of them together."""
        met: set[Entry] = set()
        for name, entries in self._met.items():
            if namespace is None or name == namespace:
                met |= entries
        sections = {}
        for section, names in self._contract.entries.items():
            rows = [{"name": name, "met": (section, name) in met} for name in names]
            sections[section] = {"description": SECTIONS[section], **tally(rows), "entries": rows}
        everything = [row for section in sections.values() for row in section["entries"]]
        return {"namespace": namespace, **tally(everything), "sections": sections}

    def _of(self, namespace: str) -> set[Entry]:
        met = self._met.get(namespace)
        if met is None:
            met = self._met[namespace] = set()
            if len(self._met) > MAX_NAMESPACES:
                self._met.popitem(last=False)
        else:
            self._met.move_to_end(namespace)
        return met

    def _add(self, namespace: str, entries: list[Entry]) -> None:
        self._of(namespace).update(entry for entry in entries if entry in self._contract.known)


def _walk(node: _Parameter, value: Any, met: set[Entry]) -> None:
    """The entries `value`, valid by the node's schema, meets."""
    if node.children:
        if isinstance(value, dict):
            for name, inner in value.items():
                child = node.children.get(name)
                if child is not None:
                    if child.entry[0]:
                        met.add(child.entry)
                    if child.reads_value:
                        _walk(child, inner, met)
        return
    if node.items is not None:
        if isinstance(value, list):
            for item in value:
                _walk(node.items, item, met)
        return
    if node.values and isinstance(value, str | bool):
        entry = node.values.get(value)
        if entry is not None:
            met.add(entry)
    if isinstance(value, int | float) and not isinstance(value, bool):
        for bound in (node.minimum, node.maximum):
            if bound is not None and value == bound[0]:
                met.add(bound[1])
    if node.is_media and isinstance(value, str):
        met.add(("media", media_form(value)))


def tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`met`, `total` and `percent` of entries (`name`, `met`); nothing to meet is all of it met."""
    met = sum(row["met"] for row in rows)
    return {"met": met, "total": len(rows), "percent": round(100 * met / len(rows), 1) if rows else 100.0}
