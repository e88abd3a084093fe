"""One recorded case sent to a target again, exchange by exchange, for the drift check: taskUUIDs and mediaUUIDs
swapped for fresh ones, polls repeated until the target is as far as the recording, the answers compared
(`contract_tests.drift_compare`)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import uuid
from collections import defaultdict
from typing import Any

from contract_tests.client import ApiClient, RawAnswer
from contract_tests.drift_compare import (
    Difference,
    compare_answer,
    compare_download,
    compare_items,
    compare_items_by_status,
    compare_progressions,
    is_about,
    listed,
    parse,
    settled,
    task_state,
)
from mock_server.recording import API_KEY_PLACEHOLDER, decode_body, media_summary

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def polled_tasks(request: dict[str, Any]) -> list[str]:
    """The taskUUIDs a request polls, when every task in it is a getResponse; else empty."""
    tasks = request.get("body")
    if not isinstance(tasks, list) or not tasks:
        return []
    if not all(isinstance(task, dict) and task.get("taskType") == "getResponse" for task in tasks):
        return []
    return [task["taskUUID"] for task in tasks if isinstance(task.get("taskUUID"), str)]


def task_types_label(request: dict[str, Any]) -> str:
    """A recorded request's task types, each once, joined by "+": how a replayed exchange is named."""
    tasks = request.get("body")
    if not isinstance(tasks, list):
        return "raw body"
    return "+".join(dict.fromkeys(str(task.get("taskType")) for task in tasks if isinstance(task, dict))) or "body"


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
                self.replay_download(f"#{index + 1} download", exchange["download"])
                index += 1
            elif polled_tasks(exchange["request"]):
                end = index + 1  # a run of the same poll: one task's (or batch's) poll sequence
                while end < len(self.exchanges) and self.exchanges[end].get("request") == exchange["request"]:
                    end += 1
                span = f"#{index + 1}" if end == index + 1 else f"#{index + 1}-{end}"
                self.replay_polls(f"{span} getResponse", self.exchanges[index:end])
                index = end
            else:
                self.replay_once(f"#{index + 1} {task_types_label(exchange['request'])}", exchange)
                index += 1
        self.differences += compare_progressions(self.states_then, self.states_now)
        return self.differences

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

    def replay_once(self, label: str, exchange: dict[str, Any]) -> None:
        raw = self.send(exchange["request"])
        then, now = exchange["response"].get("body"), parse(raw.body)
        self.differences += compare_answer(label, exchange["response"], raw, now)
        self.differences += compare_items(label, then, now)
        for then_item, now_item in zip(listed(then, "data"), listed(now, "data"), strict=False):
            # An answer without a mediaUUID renames nothing: compare_answer has reported it already.
            current = now_item.get("mediaUUID") if isinstance(now_item, dict) else None
            if isinstance(then_item, dict) and "mediaUUID" in then_item and isinstance(current, str):
                self.renamed[then_item["mediaUUID"]] = current

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
        self.differences += compare_answer(label, last_then, last_raw, last_now)
        then_bodies = [exchange["response"].get("body") for exchange in run]
        self.differences += compare_items_by_status(label, then_bodies, [now for _, now in answers])
        for task in recorded_tasks:
            current = self.renamed.get(task, task)
            self.states_then[task] += [s for e in run if (s := task_state(e["response"].get("body"), task))]
            self.states_now[task] += [s for _, now in answers if (s := task_state(now, current))]
            then_files = [
                i["videoURL"] for i in listed(last_then.get("body"), "data") if is_about(i, task) and "videoURL" in i
            ]
            now_files = [i["videoURL"] for i in listed(last_now, "data") if is_about(i, current) and "videoURL" in i]
            self.video_urls.update(zip(then_files, now_files, strict=False))

    def replay_download(self, label: str, then: dict[str, Any]) -> None:
        url = self.video_urls.get(then["url"])
        if url is None:
            self.differences.append(Difference(f"{label}: result file", "downloaded", "no matching result"))
            return
        try:
            status, content_type, data = self.client.download(url)
        except urllib.error.HTTPError as error:
            status, content_type, data = error.code, error.headers.get_content_type(), b""
        self.differences += compare_download(label, then, status, content_type, media_summary(data))
