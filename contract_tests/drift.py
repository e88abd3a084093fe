"""`lipsync-contract drift DIR --target URL`: send every recorded request to a target again (normally the mock)
and compare the answers with the recording structurally, not byte for byte.

Compared: the HTTP status and content type; the fields of each body and their JSON types; each error's `code`
and `parameter` and its fields; each item's fields and their JSON types (in a poll, per status); the status
progression of each task up to its outcome; the result files' container and duration. Not compared: values
that differ on every run (UUIDs, URLs, seeds, messages, costs) and how many polls a task took.

Exit status: 0 nothing differs, 1 drift, 2 the check could not run (usage, no recordings, target unreachable).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import uuid
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contract_tests.client import ApiClient, RawAnswer
from contract_tests.reports import paths_beside
from contract_tests.targets import MediaServer
from mock_server.recording import API_KEY_PLACEHOLDER, decode_body, load_recordings, media_summary

NO_DRIFT, DRIFT, USAGE_ERROR = 0, 1, 2
DURATION_TOLERANCE = 0.2  # seconds: encoders pad or trim a frame or an audio packet differently
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ABSENT = "absent"
DEFAULT_KEY = "lipsync-drift"


@dataclass(frozen=True)
class Difference:
    what: str
    recorded: str
    now: str


@dataclass
class CaseResult:
    case: str
    file: str
    recorded_outcome: str
    differences: list[Difference] = field(default_factory=list)


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return names[type(value)]


def field_types(item: Any) -> dict[str, str]:
    return {key: json_type(value) for key, value in item.items()} if isinstance(item, dict) else {}


def field_difference(then: dict[str, str], now: dict[str, str]) -> tuple[str, str] | None:
    """The fields whose presence or type differs, as (recorded, now) text; None when they agree."""
    differing = sorted(name for name in then.keys() | now.keys() if then.get(name) != now.get(name))
    if not differing:
        return None
    return tuple(", ".join(f"{name}: {side.get(name, ABSENT)}" for name in differing) for side in (then, now))


def parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def listed(body: Any, key: str) -> list[Any]:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, list) else []


def error_key(error: Any) -> str:
    if not isinstance(error, dict):
        return json.dumps(error)
    return f"{error.get('code', ABSENT)} @ {json.dumps(error.get('parameter', ABSENT))}"


def polled_tasks(request: dict[str, Any]) -> list[str]:
    """The taskUUIDs a request polls, when every task in it is a getResponse; else empty."""
    tasks = request.get("body")
    if not isinstance(tasks, list) or not tasks:
        return []
    if not all(isinstance(task, dict) and task.get("taskType") == "getResponse" for task in tasks):
        return []
    return [task["taskUUID"] for task in tasks if isinstance(task.get("taskUUID"), str)]


def task_types(request: dict[str, Any]) -> str:
    tasks = request.get("body")
    if not isinstance(tasks, list):
        return "raw body"
    return "+".join(dict.fromkeys(str(task.get("taskType")) for task in tasks if isinstance(task, dict))) or "body"


def task_state(body: Any, task_uuid: str) -> str | None:
    """What one answer says of a task: its items' statuses ("processing", "processing+success", "error")."""
    statuses = {item.get("status", ABSENT) for item in listed(body, "data") if _names(item, task_uuid)}
    statuses |= {error.get("status", "error") for error in listed(body, "errors") if _names(error, task_uuid)}
    return "+".join(sorted(statuses)) or None


def settled(body: Any, task_uuid: str) -> int:
    """How many of a task's results are no longer processing."""
    return sum(1 for item in listed(body, "data") if _names(item, task_uuid) and item.get("status") != "processing")


def _names(item: Any, task_uuid: str) -> bool:
    return isinstance(item, dict) and item.get("taskUUID") == task_uuid


def collapsed(states: list[str]) -> list[str]:
    return [state for index, state in enumerate(states) if index == 0 or states[index - 1] != state]


class CaseReplay:
    """One recorded case sent again: taskUUIDs and mediaUUIDs swapped for fresh ones, the answers compared."""

    def __init__(
        self, client: ApiClient, api_key: str, media_base_url: str | None, recording: dict[str, Any], budget: float
    ) -> None:
        self.client, self.api_key, self.budget = client, api_key, budget
        self.recorded_media = recording.get("mediaBaseUrl")
        self.media_base_url = media_base_url
        self.exchanges: list[dict[str, Any]] = recording["exchanges"]
        self.renamed: dict[str, str] = {}  # recorded taskUUID or mediaUUID → the one sent now
        self.video_urls: dict[str, str] = {}  # recorded videoURL → the matching result's now
        self.states_then: dict[str, list[str]] = defaultdict(list)  # by recorded taskUUID
        self.states_now: dict[str, list[str]] = defaultdict(list)
        self.differences: list[Difference] = []

    def run(self) -> list[Difference]:
        index = 0
        while index < len(self.exchanges):
            exchange = self.exchanges[index]
            if "download" in exchange:
                self.compare_download(f"#{index + 1} download", exchange["download"])
                index += 1
            elif polled_tasks(exchange["request"]):
                end = index + 1  # a run of the same poll: one task's (or batch's) poll sequence
                while end < len(self.exchanges) and self.exchanges[end].get("request") == exchange["request"]:
                    end += 1
                span = f"#{index + 1}" if end == index + 1 else f"#{index + 1}-{end}"
                self.replay_polls(f"{span} getResponse", self.exchanges[index:end])
                index = end
            else:
                self.replay_once(f"#{index + 1} {task_types(exchange['request'])}", exchange)
                index += 1
        self.compare_progressions()
        return self.differences

    def differ(self, what: str, recorded: Any, now: Any) -> None:
        self.differences.append(Difference(what, str(recorded), str(now)))

    # Sending

    def send(self, request: dict[str, Any]) -> RawAnswer:
        if "body" in request:
            body = json.dumps(self.rename(request["body"])).encode()
        else:
            body = decode_body(request).replace(API_KEY_PLACEHOLDER.encode(), self.api_key.encode())
        headers = {name: value.replace(API_KEY_PLACEHOLDER, self.api_key) for name, value in request["headers"].items()}
        return self.client.send(body, headers)

    def rename(self, value: Any, key: str | None = None) -> Any:
        """The recorded request as it is sent now: fresh taskUUIDs (a target refuses one it has seen), this
        run's mediaUUIDs and media server, the target's key in place of the placeholder."""
        if isinstance(value, dict):
            return {name: self.rename(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [self.rename(item) for item in value]
        if not isinstance(value, str):
            return value
        if key == "taskUUID" and UUID4.match(value):
            self.renamed.setdefault(value, str(uuid.uuid4()))
        if value in self.renamed:
            return self.renamed[value]
        if self.recorded_media and self.media_base_url and value.startswith(self.recorded_media + "/"):
            return self.media_base_url + value[len(self.recorded_media) :]
        return value.replace(API_KEY_PLACEHOLDER, self.api_key)

    # Comparing

    def replay_once(self, label: str, exchange: dict[str, Any]) -> None:
        raw = self.send(exchange["request"])
        then, now = exchange["response"].get("body"), parse(raw.body)
        self.compare_answer(label, exchange["response"], raw, now, items=True)
        for then_item, now_item in zip(listed(then, "data"), listed(now, "data"), strict=False):
            if isinstance(then_item, dict) and isinstance(now_item, dict) and "mediaUUID" in then_item:
                self.renamed[then_item["mediaUUID"]] = now_item.get("mediaUUID")

    def replay_polls(self, label: str, run: list[dict[str, Any]]) -> None:
        """Poll until the target is as far as the recording's last answer (or has failed), then compare."""
        recorded_tasks = polled_tasks(run[0]["request"])
        last_then = run[-1]["response"]
        answers: list[tuple[RawAnswer, Any]] = []
        deadline, delay = time.monotonic() + self.budget, 0.05
        while True:
            raw = self.send(run[0]["request"])
            now = parse(raw.body)
            answers.append((raw, now))
            # As far: as many results done as recorded, and failed if the recording ended failed.
            as_far = not listed(last_then.get("body"), "errors") and all(
                settled(now, self.renamed.get(task, task)) >= settled(last_then.get("body"), task)
                for task in recorded_tasks
            )
            if not isinstance(now, dict) or listed(now, "errors") or as_far or time.monotonic() > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        last_raw, last_now = answers[-1]
        self.compare_answer(label, last_then, last_raw, last_now, items=False)
        self.compare_items_by_status(label, [e["response"].get("body") for e in run], [now for _, now in answers])
        for task in recorded_tasks:
            current = self.renamed.get(task, task)
            self.states_then[task] += [s for e in run if (s := task_state(e["response"].get("body"), task))]
            self.states_now[task] += [s for _, now in answers if (s := task_state(now, current))]
            then_files = [
                i["videoURL"] for i in listed(last_then.get("body"), "data") if _names(i, task) and "videoURL" in i
            ]
            now_files = [i["videoURL"] for i in listed(last_now, "data") if _names(i, current) and "videoURL" in i]
            self.video_urls.update(zip(then_files, now_files, strict=False))

    def compare_answer(self, label: str, then: dict[str, Any], raw: RawAnswer, now: Any, *, items: bool) -> None:
        if then["status"] != raw.status:
            self.differ(f"{label}: HTTP status", then["status"], raw.status)
        then_type = then["headers"].get("Content-Type", "").split(";")[0]
        now_type = {k.lower(): v for k, v in raw.headers.items()}.get("content-type", "").split(";")[0]
        if then_type != now_type:
            self.differ(f"{label}: content type", then_type or ABSENT, now_type or ABSENT)
        then_body = then.get("body")
        if not (isinstance(then_body, dict) and isinstance(now, dict)):
            if isinstance(then_body, dict) != isinstance(now, dict):
                self.differ(
                    f"{label}: body", "JSON object" if then_body else "other", "JSON object" if now else "other"
                )
            return
        if changed := field_difference(field_types(then_body), field_types(now)):
            self.differ(f"{label}: body fields", *changed)
        then_errors = sorted(listed(then_body, "errors"), key=error_key)
        now_errors = sorted(listed(now, "errors"), key=error_key)
        then_keys, now_keys = [error_key(e) for e in then_errors], [error_key(e) for e in now_errors]
        if then_keys != now_keys:
            self.differ(
                f"{label}: error code @ parameter", "; ".join(then_keys) or ABSENT, "; ".join(now_keys) or ABSENT
            )
        else:
            for key, then_error, now_error in zip(then_keys, then_errors, now_errors, strict=True):
                if changed := field_difference(field_types(then_error), field_types(now_error)):
                    self.differ(f"{label}: fields of error {key}", *changed)
        if not items:
            return
        then_items, now_items = listed(then_body, "data"), listed(now, "data")
        if len(then_items) != len(now_items):
            self.differ(f"{label}: number of items", len(then_items), len(now_items))
        for position, (then_item, now_item) in enumerate(zip(then_items, now_items, strict=False)):
            if changed := field_difference(field_types(then_item), field_types(now_item)):
                self.differ(f"{label}: fields of data[{position}]", *changed)

    def compare_items_by_status(self, label: str, then_bodies: list[Any], now_bodies: list[Any]) -> None:
        """The fields of poll items, per status seen on both sides (how far a task got is the progression's)."""

        def by_status(bodies: list[Any]) -> dict[str, dict[str, str]]:
            fields: dict[str, dict[str, str]] = defaultdict(dict)
            for body in bodies:
                for item in listed(body, "data"):
                    if isinstance(item, dict):
                        fields[str(item.get("status", ABSENT))].update(field_types(item))
            return fields

        then, now = by_status(then_bodies), by_status(now_bodies)
        for status in sorted(then.keys() & now.keys()):
            if changed := field_difference(then[status], now[status]):
                self.differ(f"{label}: fields of {status} items", *changed)

    def compare_progressions(self) -> None:
        """Outcome equal, and no status on the way that the recording did not show (a faster target may skip
        `processing`; a slower one may show it where the recording did not). A recording that stopped polling
        while its task was still processing saw no outcome: the target may have got as far, or to success."""
        for task, then_states in self.states_then.items():
            then, now = collapsed(then_states), collapsed(self.states_now.get(task, []))
            if not then:  # the recording saw nothing of this task (a poll of an unknown one answered no item)
                continue
            extra = set(now[:-1]) - set(then[:-1]) - {"processing"}
            reached = bool(now) and (now[-1] == then[-1] or (then[-1] == "processing" and now[-1] == "success"))
            if not reached or extra:
                self.differ(f"task {task[:8]}: status progression", " → ".join(then), " → ".join(now) or ABSENT)

    def compare_download(self, label: str, then: dict[str, Any]) -> None:
        url = self.video_urls.get(then["url"])
        if url is None:
            self.differ(f"{label}: result file", "downloaded", "no matching result")
            return
        try:
            status, content_type, data = self.client.download(url)
        except urllib.error.HTTPError as error:
            status, content_type, data = error.code, error.headers.get_content_type(), b""
        if status != then["status"]:
            self.differ(f"{label}: HTTP status", then["status"], status)
        then_media, now_media = then.get("media") or {}, media_summary(data) or {}
        then_container = f"{then_media.get('container')} {then_media.get('brand') or ''}".strip()
        now_container = f"{now_media.get('container')} {now_media.get('brand') or ''}".strip()
        if then_container != now_container or then["contentType"] != content_type:
            self.differ(
                f"{label}: container", f"{then['contentType']}, {then_container}", f"{content_type}, {now_container}"
            )
        then_seconds, now_seconds = then_media.get("duration"), now_media.get("duration")
        if then_seconds is not None and (now_seconds is None or abs(now_seconds - then_seconds) > DURATION_TOLERANCE):
            self.differ(
                f"{label}: duration", f"{then_seconds:.2f} s", ABSENT if now_seconds is None else f"{now_seconds:.2f} s"
            )


# Reporting


def table(results: list[CaseResult]) -> str:
    rows = [("case", "what differs", "recorded", "now")]
    rows += [(r.case, d.what, d.recorded, d.now) for r in results for d in r.differences]
    cells = [[_clip(cell, 100 if column == 0 else 60) for column, cell in enumerate(row)] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)).rstrip() for row in cells
    )


def _clip(text: str, width: int) -> str:
    text = text.removeprefix("contract_tests.")
    return text if len(text) <= width else text[: width - 1] + "…"


def write_reports(path: Path, target: str, results: list[CaseResult]) -> tuple[Path, ...]:
    """PATH.json (every case, every difference) and PATH.xml (JUnit: one test case per recording)."""
    as_json, as_xml = paths_beside(path, (".json", ".xml"))
    document = {
        "target": target,
        "cases": len(results),
        "drifted": sum(1 for r in results if r.differences),
        "results": [asdict(r) for r in results],
    }
    as_json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    suite = ElementTree.Element(
        "testsuite", name="lipsync-drift", tests=str(len(results)), failures=str(document["drifted"])
    )
    for result in results:
        module, _, name = result.case.rpartition("::")
        case = ElementTree.SubElement(suite, "testcase", classname=module or "lipsync-drift", name=name or result.case)
        if result.differences:
            first = result.differences[0]
            failure = ElementTree.SubElement(case, "failure", message=f"{first.what}: {first.recorded} → {first.now}")
            failure.text = "\n".join(f"{d.what}: recorded {d.recorded}; now {d.now}" for d in result.differences)
    ElementTree.ElementTree(suite).write(as_xml, encoding="utf-8", xml_declaration=True)
    return as_json, as_xml


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="lipsync-contract drift",
        description="Send each recorded request to a target again and compare the answers structurally.",
    )
    parser.add_argument("recordings", type=Path, metavar="DIR", help="a folder written by --record")
    parser.add_argument(
        "--target", default=os.environ.get("RUNWARE_BASE_URL"), help="task endpoint (env RUNWARE_BASE_URL)"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("RUNWARE_API_KEY", DEFAULT_KEY),
        help="a key the target accepts (env RUNWARE_API_KEY; default lipsync-drift, which a mock started without "
        "--api-key accepts — but then the recorded wrong-key cases drift: start it with one)",
    )
    parser.add_argument("--media-base-url", help="where the target can fetch the fixture media; default: served here")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write FILE.json and FILE.xml (JUnit)")
    parser.add_argument("--poll-budget", type=float, default=60.0, metavar="S", help="seconds a task may take")
    args = parser.parse_args(argv)
    if not args.target:
        parser.error("--target is required (or RUNWARE_BASE_URL)")
    if not args.recordings.is_dir():
        parser.error(f"{args.recordings} is not a folder")
    try:
        recordings = load_recordings(args.recordings)
    except ValueError as error:
        parser.error(str(error))
    if not recordings:
        parser.error(f"no recordings (*.json) in {args.recordings}")

    results = []
    with ExitStack() as stack:
        media_base_url = args.media_base_url or stack.enter_context(MediaServer()).base_url
        client = ApiClient(args.target, args.api_key)
        stack.callback(client.close)
        for path, recording in recordings:
            result = CaseResult(recording.get("case", path.stem), path.name, recording.get("outcome", "unknown"))
            try:
                replay = CaseReplay(client, args.api_key, media_base_url.rstrip("/"), recording, args.poll_budget)
                result.differences = replay.run()
            except OSError as error:
                print(f"lipsync-contract drift: {args.target} did not answer ({error}) in {path.name}", file=sys.stderr)
                return USAGE_ERROR
            results.append(result)

    drifted = [r for r in results if r.differences]
    if drifted:
        print(table(results))
        count = sum(len(r.differences) for r in drifted)
        plural = "" if count == 1 else "s"
        print(f"\ndrift: {count} difference{plural} in {len(drifted)} of {len(results)} cases, against {args.target}")
    else:
        exchanges = sum(len(recording["exchanges"]) for _, recording in recordings)
        print(f"no drift: {len(results)} cases, {exchanges} recorded exchanges, against {args.target}")
    if args.report:
        for written in write_reports(args.report, args.target, results):
            print(f"report: {written}")
    return DRIFT if drifted else NO_DRIFT
