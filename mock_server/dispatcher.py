"""One task dispatcher for every transport: it takes a raw task array and returns the platform's answer."""

from __future__ import annotations

import hmac
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mock_server import exceptions
from mock_server.exceptions import RunwareError
from mock_server.media import CONTAINERS, Clip, placeholder_clip
from mock_server.models import JournalEntry, RequestJournal, Result, Task, TaskStore
from mock_server.schema_registry import fill_defaults
from mock_server.validation import envelope_errors, task_schema_names, validate_task

PRICE_PER_AUDIO_SECOND = Decimal("0.044")


@dataclass(frozen=True)
class Reply:
    status: int
    text: str  # the JSON body, serialised once for the transport and the journal

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class TaskDispatcher:
    def __init__(
        self,
        store: TaskStore,
        *,
        api_keys: Iterable[str] = (),
        processing_rate: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        journal: RequestJournal | None = None,
    ) -> None:
        self.store = store
        self.journal = journal if journal is not None else RequestJournal()
        self.api_keys = tuple(key.encode() for key in api_keys)
        self.processing_rate = processing_rate
        self.clock = clock
        self.rng = rng or random.Random()

    def handle(self, raw: bytes, *, bearer_key: str | None, base_url: str) -> Reply:
        """Answer one request body. `base_url` is where this server's result files are reachable."""
        status, body = self._answer(raw, bearer_key, base_url)
        reply = Reply(status, json.dumps(body))
        self.journal.record(JournalEntry(time.time(), raw, reply.status, reply.text))
        return reply

    def _answer(self, raw: bytes, bearer_key: str | None, base_url: str) -> tuple[int, dict[str, Any]]:
        try:
            body = self._parse(raw)
            item_errors: dict[int, RunwareError] = {}
            for index, error in envelope_errors(body):
                if index is None:
                    raise error
                item_errors.setdefault(index, error)
            self._authenticate(bearer_key, body)
        except RunwareError as error:
            return error.status, {"errors": [error.to_json()]}

        data: list[dict[str, Any]] = []
        errors: list[RunwareError] = []
        for index, task in enumerate(body):
            if index in item_errors:
                errors.append(item_errors[index])
            elif task["taskType"] == "videoInference":
                self._submit(task, data, errors)
            elif task["taskType"] == "getResponse":
                self._poll(task, base_url, data, errors)
        reply: dict[str, Any] = {}
        if data or not errors:
            reply["data"] = data
        if errors:
            reply["errors"] = [error.to_json() for error in errors]
        return (200 if data or not errors else errors[0].status), reply

    def result_file(self, video_uuid: str, extension: str) -> Clip | None:
        """The file behind a videoURL, while it is served (ready and not past its ttl)."""
        found = self.store.find_result(video_uuid)
        if found is None:
            return None
        task, result = found
        clip = placeholder_clip(task.output_format)
        if clip.spec.extension != extension or not result.is_served(self.clock()):
            return None
        return clip

    @staticmethod
    def _parse(raw: bytes) -> Any:
        if not raw.strip():
            raise exceptions.invalid_request_body("The request body is empty; send a JSON array of tasks.")
        try:
            return json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            reason = str(error) if isinstance(error, ValueError) else "nested too deeply"
            raise exceptions.invalid_request_body(f"The request body is not valid JSON: {reason}.") from None

    def _authenticate(self, bearer_key: str | None, body: list[Any]) -> None:
        key = bearer_key
        if not key:
            first = body[0]
            if isinstance(first, dict) and first.get("taskType") == "authentication":
                key = first.get("apiKey") if isinstance(first.get("apiKey"), str) else None
        if not key:
            raise exceptions.missing_api_key()
        if self.api_keys:
            offered = key.encode()
            # Compare with every key, so the time taken does not tell which (or how much) matched.
            matches = [hmac.compare_digest(offered, known) for known in self.api_keys]
            if not any(matches):
                raise exceptions.invalid_api_key()

    def _submit(self, task: dict[str, Any], data: list[dict[str, Any]], errors: list[RunwareError]) -> None:
        problems = validate_task(task)
        if problems:
            errors.extend(problems)
            return
        nsfw = False if _content_check_runs(task) else None
        # The parsed body belongs to this call, so the defaults go straight into it.
        request = task
        fill_defaults(task_schema_names()["videoInference"], request)
        clip = placeholder_clip(request["outputFormat"])
        now = self.clock()
        ttl = request.get("ttl")
        cost = _cost(_audio_seconds(request, clip)) if request["includeCost"] else None
        seeds = self.rng.sample(range(1, 2**31), request["numberResults"])
        results = []
        for position, seed in enumerate(seeds, start=1):
            ready_at = now + self.processing_rate * clip.duration * position
            expires_at = ready_at + ttl if ttl is not None else None
            results.append(Result(_uuid4(self.rng), seed, ready_at, expires_at, cost, nsfw))
        accepted = Task.create(task["taskUUID"], request["outputFormat"], json.dumps(request), now, results)
        if not self.store.add(accepted):
            errors.append(exceptions.duplicate_task_uuid("videoInference", task["taskUUID"]))
            return
        data.append({"taskType": "videoInference", "taskUUID": task["taskUUID"]})

    def _poll(
        self, task: dict[str, Any], base_url: str, data: list[dict[str, Any]], errors: list[RunwareError]
    ) -> None:
        problems = validate_task(task)
        if problems:
            errors.extend(problems)
            return
        found = self.store.get(task["taskUUID"])
        if found is None:
            errors.append(exceptions.task_not_found(task["taskUUID"]))
            return
        now = self.clock()
        extension = CONTAINERS[found.output_format].extension
        for result in found.results:
            item: dict[str, Any] = {"taskType": "videoInference", "taskUUID": found.task_uuid}
            if not result.is_ready(now):
                item["status"] = "processing"
            else:
                item["status"] = "success"
                item["videoUUID"] = result.video_uuid
                item["videoURL"] = f"{base_url}/videos/{result.video_uuid}.{extension}"
                item["seed"] = result.seed
                if result.cost is not None:
                    item["cost"] = result.cost
                if result.nsfw_content is not None:
                    item["NSFWContent"] = result.nsfw_content
            data.append(item)


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _content_check_runs(task: dict[str, Any]) -> bool:
    """`safety.mode` decides; without it, `checkContent: true` means the `fast` mode (model page)."""
    safety = task.get("safety", {})
    mode = safety.get("mode", "fast" if safety.get("checkContent") else "none")
    return mode != "none"


def _audio_seconds(request: dict[str, Any], clip: Clip) -> float:
    """Seconds of audio billed: the segment windows when there are segments, else the whole output."""
    segments = request.get("providerSettings", {}).get("sync", {}).get("segments")
    if segments:
        return float(sum(Decimal(repr(s["endTime"])) - Decimal(repr(s["startTime"])) for s in segments))
    return clip.duration


def _cost(audio_seconds: float) -> float:
    return float(round(PRICE_PER_AUDIO_SECOND * Decimal(repr(audio_seconds)), 6))
