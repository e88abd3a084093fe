"""One task dispatcher for every transport: it takes a raw task array and returns the platform's answer."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mock_server import exceptions
from mock_server.accounts import Accounts
from mock_server.body import read_task_array, task_type_counts
from mock_server.config import Compat
from mock_server.containers import CONTAINERS
from mock_server.coverage import REST, ClientCoverage
from mock_server.exceptions import RunwareError, envelope
from mock_server.faults import Fault, FaultPlan
from mock_server.journal import RequestJournal
from mock_server.lifecycle import PENDING
from mock_server.namespaces import DEFAULT, namespace_of, owner_of
from mock_server.processing import TaskRunner
from mock_server.schema_registry import complete
from mock_server.store import Result, Task, TaskStore
from mock_server.task_details import TaskDetails
from mock_server.validation import (
    envelope_errors,
    read_audio_sources,
    task_schema_names,
    uses_audio_sources,
    validate_task,
    within_limits,
)
from mock_server.variation import ResponseVariation

Errors = list[tuple[int, dict[str, Any]]]  # (HTTP status when alone, error object)
NSFW_TRIGGER = "nsfw"
# An answer lists at most this many errors, then a note that there are more (each task's own are capped too).
MAX_ERRORS_PER_REQUEST = 100


@dataclass(frozen=True)
class Reply:
    """The answer to one task array, as the transport sends it."""

    status: int
    text: str  # the JSON body, serialised once for the transport and the journal
    task_faults: tuple[Fault, ...] = ()  # the faults the acknowledged tasks carry (ws_close acts on the socket)
    task_type_counts: dict[str, int] = dataclasses.field(default_factory=dict)  # for the access log

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.text)


class TaskDispatcher:
    """Owns the answer to a task array — the envelope, authentication, validation, the outcome of each task —
    and the request journal. Transports hand it raw bytes and send back its `Reply`; it knows no transport.
    The background work of a task is the runner's; the rules on injected faults, the fault plan's."""

    def __init__(
        self,
        store: TaskStore,
        runner: TaskRunner,
        *,
        api_keys: Iterable[str] = (),
        rng: random.Random | None = None,
        journal: RequestJournal | None = None,
        faults: FaultPlan | None = None,
        max_tasks: int = 100,
        compat: Compat | None = None,
        poll_wait: float = 10.0,
        variation: ResponseVariation | None = None,
        accounts: Accounts | None = None,
        coverage: ClientCoverage | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.journal = journal if journal is not None else RequestJournal()
        self.api_keys = tuple(key.encode() for key in api_keys)
        self.rng = rng or random.Random()
        self.faults = faults if faults is not None else FaultPlan()
        self.max_tasks = max_tasks
        self.compat = compat or Compat()
        self.poll_wait = poll_wait
        self.variation = variation
        self.accounts = accounts if accounts is not None else Accounts()
        self.task_details = TaskDetails()
        self.coverage = coverage if coverage is not None else ClientCoverage(self.compat)

    @property
    def clock(self) -> Callable[[], float]:
        return self.runner.clock

    async def handle(
        self,
        raw: bytes,
        *,
        bearer_key: str | None,
        base_url: str,
        faults: tuple[Fault, ...] = (),
        refusals_carry_data: bool = False,
        namespace: str = DEFAULT,
        transport: str = REST,
        started: float | None = None,
    ) -> Reply:
        """Answer one request body. `base_url` is where this server's files are reachable; `faults` (from the
        request) are injected into the tasks it submits; with `refusals_carry_data` (REST), a refused request
        answers `"data": []` beside its errors, as the real service was seen to; `namespace` scopes the work
        (see namespaces.py); `transport` names the transport in the client's coverage; `started`
        (`time.perf_counter()`, default now) is when the request's answer began, for the journal."""
        started = time.perf_counter() if started is None else started
        acknowledged: list[Task] = []
        owner = snapshot = None
        try:
            tasks = await read_task_array(raw, self.max_tasks)
        except RunwareError as error:
            tasks, status, body = None, error.status, exceptions.errors_body(error)
        else:
            snapshot = self.task_details.snapshot(tasks)
            owner, status, body = await self._answer(tasks, bearer_key, base_url, faults, acknowledged, namespace)
        await self.store.durable()  # what this answer acknowledges is on disk before the client hears of it
        if refusals_carry_data and self.compat.refusal_data == "empty":
            body = {"data": [], **body}  # an answer with data keeps its own
        if "errors" in body and self.compat.error_task_type == "omitted":
            body["errors"] = exceptions.without_task_types(body["errors"])
        if self.variation is not None:
            body = self.variation.body(body)
        if owner is not None and snapshot is not None:
            self.task_details.record(owner, snapshot, body)
        task_faults = tuple(fault for task in acknowledged for fault in task.faults)
        self.coverage.answered(namespace, body, transport)
        self.coverage.faults_met(namespace, task_faults)
        reply = Reply(status, json.dumps(body), task_faults, task_type_counts(tasks))
        self.journal.record(raw, reply.status, reply.text, namespace, time.perf_counter() - started)
        return reply

    def reset(self, namespace: str | None = None) -> None:
        """Forget every task, upload, journal entry, fault rule and lifecycle choice — of one namespace, or
        (None) of all."""
        dropped = self.store.clear(namespace)
        self.journal.clear(namespace)
        self.accounts.clear(namespace)
        self.task_details.clear(namespace)
        self.coverage.clear(namespace)
        self.faults.clear(namespace)
        self.runner.reset(namespace, dropped)
        if self.variation is not None:
            self.variation.reset()

    def seed(self, seed: int) -> None:
        """Make generated UUIDs, seeds and chaos reproducible from here on."""
        self.rng = random.Random(seed)
        self.faults.seed(seed)
        self.runner.lifecycle.seed(seed)

    async def _answer(
        self,
        body: Any,
        bearer_key: str | None,
        base_url: str,
        faults: tuple[Fault, ...],
        acknowledged: list[Task],
        namespace: str,
    ) -> tuple[str | None, int, dict[str, Any]]:
        """The request's owner (None when it was refused as a whole), the answer's status and body."""
        try:
            item_errors: dict[int, RunwareError] = {}
            for index, error in await envelope_errors(body):
                if index is None:
                    raise error
                item_errors.setdefault(index, error)
            owner = owner_of(self._authenticate(bearer_key, body), namespace)
        except RunwareError as error:
            return None, error.status, exceptions.errors_body(error)

        data: list[dict[str, Any]] = []
        errors: Errors = []
        # The polls of one request share one wait (see _poll): 90 polls once waited 90 times --poll-wait.
        poll_deadline = asyncio.get_running_loop().time() + self.poll_wait
        for index, task in enumerate(body):
            if index in item_errors:
                errors.append(_entry(item_errors[index]))
                continue
            task_type = task["taskType"]
            problems = []
            if task_type == "videoInference" and self.compat.audio_inputs == "list" and uses_audio_sources(task):
                problems = await read_audio_sources(task)
            problems = problems or await validate_task(task) or within_limits(task, self.runner.max_media_seconds)
            if problems:
                errors.extend(map(_entry, problems))
                continue
            self.coverage.sent(namespace, task)
            if task_type == "videoInference":
                accepted = self._submit(task, owner, base_url, faults, data, errors)
                if accepted is not None:
                    acknowledged.append(accepted)
            elif task_type == "getResponse":
                await self._poll(task, owner, poll_deadline, data, errors)
            elif task_type == "mediaStorage":
                await self._store_media(task, owner, base_url, data, errors)
            elif task_type == "accountManagement":
                self._account(task, owner, data, errors)
            elif task_type == "getTaskDetails":
                self._task_details(task, owner, data, errors)
        ran = bool(data) or not errors
        shown = [error for _, error in errors[:MAX_ERRORS_PER_REQUEST]]
        if len(errors) > MAX_ERRORS_PER_REQUEST:
            message = (
                f"More than {MAX_ERRORS_PER_REQUEST} errors were found; the first {MAX_ERRORS_PER_REQUEST} are listed."
            )
            shown.append(exceptions.TOO_MANY_ERRORS(message).to_json())
        return owner, (200 if ran else errors[0][0]), envelope(data if ran else None, shown)

    def _authenticate(self, bearer_key: str | None, body: list[Any]) -> str:
        """The request's API key; refuses a missing or unknown one."""
        key = bearer_key
        if not key:
            first = body[0]
            if isinstance(first, dict) and first.get("taskType") == "authentication":
                key = first.get("apiKey") if isinstance(first.get("apiKey"), str) else None
        if not key:
            raise exceptions.missing_api_key()
        if not self.accepts_key(key):
            raise exceptions.invalid_api_key()
        return key

    def accepts_key(self, key: str) -> bool:
        """Any non-empty key when none is configured; else one of them."""
        if not self.api_keys:
            return bool(key)
        offered = key.encode(errors="surrogatepass")  # a lone surrogate is JSON, not UTF-8: it matches no key
        # Compare with every key, so the time taken does not tell which (or how much) matched.
        return any([hmac.compare_digest(offered, known) for known in self.api_keys])

    def _submit(
        self,
        task: dict[str, Any],
        owner: str,
        base_url: str,
        faults: tuple[Fault, ...],
        data: list[dict[str, Any]],
        errors: Errors,
    ) -> Task | None:
        """Accept a valid task and start its work; None when the account cannot pay for it or its taskUUID was
        already used."""
        if not self.accounts.can_start_video_task(owner):
            errors.append(_entry(self._insufficient_credits(task["taskUUID"])))
            return None
        nsfw = _nsfw_verdict(task)
        injected = (*faults, *self.faults.task_faults(task, namespace_of(owner)))
        # The parsed body belongs to this call, so the defaults go straight into it.
        request = task
        complete(task_schema_names()["videoInference"], request)
        seeds = self.rng.sample(range(1, 2**31), request["numberResults"])
        results = [Result(_uuid4(self.rng), seed, PENDING, None, None, nsfw) for seed in seeds]
        accepted = Task.create(
            task["taskUUID"],
            request["outputFormat"],
            json.dumps(request),
            self.clock(),
            results,
            base_url,
            injected,
            owner,
        )
        if not self.store.add(accepted):
            errors.append(_entry(exceptions.conflicting_task_uuid("videoInference", task["taskUUID"])))
            return None
        self.runner.start(accepted)
        data.append({"taskType": "videoInference", "taskUUID": task["taskUUID"]})
        return accepted

    async def _poll(
        self, task: dict[str, Any], owner: str, deadline: float, data: list[dict[str, Any]], errors: Errors
    ) -> None:
        task_uuid = task["taskUUID"]
        found = self.store.get(task_uuid)
        # At --processing-rate 0 there is no simulated delay: the answer waits for the real work, so the first poll
        # sees the outcome — but never past the request's deadline (--poll-wait from its arrival), so a long queue of
        # renders cannot hold a request without limit.
        if found is not None and found.owner == owner and self.runner.lifecycle.processing_rate == 0:
            found = await self.runner.when_rendered(found, max(0.0, deadline - asyncio.get_running_loop().time()))
        if found is None or found.owner != owner:  # another account's task is not found, as on the platform
            if self.compat.unknown_task_poll == "not-found":
                errors.append(_entry(exceptions.task_not_found(task_uuid)))
            return
        found = self.runner.poll(found)
        if found.error_json is not None:
            errors.append((exceptions.TASK_FAILED_STATUS, json.loads(found.error_json)))
            return
        now = self.clock()
        extension = CONTAINERS[found.output_format].extension
        items = [found.result_item(result, now, extension) for result in found.results]
        if self.compat.progress == "omitted":
            items = [{k: v for k, v in item.items() if k != "progress"} for item in items]
        data.extend(items if self.variation is None else self.variation.poll_items(items))

    async def _store_media(
        self, task: dict[str, Any], owner: str, base_url: str, data: list[dict[str, Any]], errors: Errors
    ) -> None:
        ids = {"taskType": "mediaStorage", "taskUUID": task["taskUUID"]}
        if task["operation"] == "delete":
            media_uuid = task["mediaUUID"].lower()
            upload = await asyncio.to_thread(self.store.get_media, media_uuid)  # a whole file: see rest.get_video
            if upload is not None and upload.owner == owner and self.store.delete_media(media_uuid):
                data.append({**ids, "operation": "delete", "mediaUUID": media_uuid})
            else:
                error = exceptions.MEDIA_NOT_FOUND("No uploaded media has this mediaUUID.", parameter="mediaUUID")
                errors.append(_entry(error, **ids))
            return
        try:
            media = await self.runner.loader.load(task["media"], "media", owner)
        except RunwareError as error:
            errors.append(_entry(error, **ids))
            return
        media_uuid = _uuid4(self.rng)
        self.store.add_media(media_uuid, dataclasses.replace(media, owner=owner), self.clock())
        data.append(
            {**ids, "operation": "upload", "mediaUUID": media_uuid, "mediaURL": f"{base_url}/media/{media_uuid}"}
        )

    def _account(self, task: dict[str, Any], owner: str, data: list[dict[str, Any]], errors: Errors) -> None:
        if task["operation"] == "getDetails":
            data.append(self.accounts.details(owner, task["taskUUID"]))
            return
        error = exceptions.NOT_SIMULATED(
            f"The mock does not make usage reports ({task['operation']}); accountManagement getDetails is answered.",
            parameter="operation",
            task_type="accountManagement",
            task_uuid=task["taskUUID"],
        )
        errors.append(_entry(error))

    def _task_details(self, task: dict[str, Any], owner: str, data: list[dict[str, Any]], errors: Errors) -> None:
        found = self.task_details.find(owner, task["taskUUID"])
        if found is None:  # another account's task is not found either
            errors.append(_entry(exceptions.task_not_found(task["taskUUID"], task_type="getTaskDetails")))
            return
        data.append({"taskType": "getTaskDetails", "taskUUID": task["taskUUID"], **found})

    def _insufficient_credits(self, task_uuid: str) -> RunwareError:
        code = exceptions.CATALOGUE[self.compat.insufficient_credits_code]
        return code(
            "Insufficient credits: a video task needs at least $5 of credit. "
            "Top up the account's balance (the mock's: PUT /__mock/balance).",
            task_type="videoInference",
            task_uuid=task_uuid,
            status=int(self.compat.insufficient_credits_status),
        )


def _entry(error: RunwareError, **ids: str) -> tuple[int, dict[str, Any]]:
    return error.status, {**error.to_json(), **ids}


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _nsfw_verdict(task: dict[str, Any]) -> bool | None:
    """NSFWContent for the task's results: None when no content check runs. `safety.mode` decides whether one
    runs; without it, `checkContent: true` means `fast` (model page). The verdict is True exactly when the
    video input's reference contains "nsfw" (any case): a trigger a test can rely on."""
    safety = task.get("safety", {})
    if safety.get("mode", "fast" if safety.get("checkContent") else "none") == "none":
        return None
    return NSFW_TRIGGER in task["inputs"]["video"].lower()
