"""Hostile requests against a mock process: its peak memory growth and how long /health waits meanwhile.

    .venv/bin/python -m benchmarks.hostile [--case NAME ...]

Each case starts a fresh mock (`--processing-rate 0`, every cap at its default), makes what the case needs
first (an upload, tasks to poll; a render beforehand for the cases that render, so that the render processes
exist), reads the resident memory of the mock and of its render processes, then sends the hostile request(s)
while one thread asks /health every 10 ms on a new connection and another samples each process's peak
resident memory (VmHWM, reset first through /proc/PID/clear_refs). It waits for the work the requests leave
(every task they started polled until it ends), and prints a row:

- peak growth: the mock's own, plus each render process's (a sum of peaks, so at most an overstatement);
- the /health p99 and max (the max stands for the longest the event loop was held, seen from outside);
- the answers seen, counted (`task <code>`: how a task the request started ended);
- whether it is within its bounds: growth under 200 MB, plus what the caps let the case keep (stored uploads
  within --max-stored-bytes, a result within --max-result-bytes); /health never past 250 ms; no 5xx and
  nothing left unanswered, /health included.

At the connection cap (half-sent-headers) new connections are refused by design, 503 `tooManyConnections`: those
refusals are counted, not faults, and /health is judged on a connection opened before the flood.

Everything is sent to loopback, every loop is bounded, and every case stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import io
import json
import resource
import socket
import struct
import threading
import time
import urllib.request
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from benchmarks.processes import descendants, free_port, memory_mb, mock_command, reset_peak_memory, running
from benchmarks.render_memory import tone_wav
from contract_tests.payloads import data_uri, example_task
from mock_server.containers import CONTAINERS, encoder_options
from mock_server.media import make_clip

MB = 1 << 20
GROWTH_BOUND_MB = 200
HEALTH_BOUND_MS = 250
HEADERS = {"Authorization": "Bearer k", "Content-Type": "application/json"}
REQUEST_SECONDS = 120  # a hostile request not answered by then has hung
TASK_SECONDS = 900  # the longest the tasks a case started may take to end
REQUEST_TIMEOUT = 30  # the mock's --request-timeout default: how long it holds a half-sent request
POLL_WAIT = 10  # the mock's --poll-wait default


@dataclass(frozen=True)
class Exchange:
    """One answer seen: its HTTP status (0: none came, the request hung; -1: the mock closed the connection
    without one, as it does a client that stopped sending), what it said, and how long it took."""

    status: int
    said: str
    seconds: float = 0.0

    @property
    def label(self) -> str:
        if self.status == 0:
            return f"no answer: {self.said}"
        if self.status == -1:
            return f"closed: {self.said}"
        return f"{self.status} {self.said}".rstrip()


def error_code(body: bytes) -> str:
    """The first error code of an answer's body, or nothing when it is not a Runware-style error."""
    try:
        return summary(json.loads(body))
    except ValueError:
        return ""


def summary(answer: object) -> str:
    """What an answer said in a word: its first error code, else the commonest status of its data items."""
    if not isinstance(answer, dict):
        return ""
    errors = answer.get("errors") or []
    if errors and isinstance(errors[0], dict):
        return str(errors[0].get("code", ""))
    statuses = Counter(str(item.get("status", "")) for item in answer.get("data") or [] if isinstance(item, dict))
    return statuses.most_common(1)[0][0] if statuses else ""


def post(base: str, body: bytes, headers: dict[str, str] = HEADERS, timeout: float = REQUEST_SECONDS) -> Exchange:
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        connection.request("POST", "/v1", body, headers)
        response = connection.getresponse()
        text = response.read()
    except TimeoutError:
        return Exchange(0, f"nothing within {timeout:g} s", time.perf_counter() - started)
    except OSError as error:
        return Exchange(-1, type(error).__name__, time.perf_counter() - started)
    finally:
        connection.close()
    try:
        said = summary(json.loads(text))
    except ValueError:
        said = "not JSON"
    return Exchange(response.status, said, time.perf_counter() - started)


def post_json(base: str, tasks: Sequence[Mapping[str, object]]) -> tuple[Exchange, dict[str, Any]]:
    """Post `tasks` (a setup or poll request, never a hostile one) and answer the parsed body too."""
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
    started = time.perf_counter()
    try:
        connection.request("POST", "/v1", json.dumps(tasks).encode(), HEADERS)
        response = connection.getresponse()
        answer = json.loads(response.read())
    except TimeoutError:
        return Exchange(0, f"nothing within {REQUEST_SECONDS} s"), {}
    finally:
        connection.close()
    return Exchange(response.status, summary(answer), time.perf_counter() - started), answer


def with_raw(task: dict[str, object], name: str, raw: bytes) -> bytes:
    """A body of one task with the parameter `name` set to `raw` JSON text, written out as it is: a value too
    large or too odd to build as Python objects first (millions of items, a 401-digit integer)."""
    text = json.dumps([{key: value for key, value in task.items() if key != name}]).encode()
    return text[:-2] + b", " + json.dumps(name).encode() + b": " + raw + b"}]"


def inline_task(**fields: object) -> dict[str, object]:
    return {**example_task(), "inputs": {"video": data_uri("speaker.mp4"), "audio": data_uri("voice.wav")}, **fields}


def grey_png(width: int, height: int) -> bytes:
    """A black 8-bit greyscale PNG, compressed as it is written: a huge picture in a few hundred kB."""
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the pixels
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def noise_clip(frame_count: int, width: int = 320, height: int = 240, fps: int = 24) -> bytes:
    """H.264 MP4 of random pixels: no frame resembles another, so every re-encoded frame is large."""
    pixels = np.random.default_rng(0)
    spec = CONTAINERS["MP4"]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.muxer) as container:
        stream = container.add_stream(spec.video_codec, rate=fps, options=encoder_options(spec.video_codec))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frame_count):
            frame = av.VideoFrame.from_ndarray(pixels.integers(0, 256, (height, width, 3), np.uint8), format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def as_data_uri(data: bytes, kind: str) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def upload(base: str, data: bytes, kind: str) -> tuple[str, str]:
    """Store `data` as an upload; answers its mediaUUID and mediaURL."""
    task = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload"}
    exchange, answer = post_json(base, [{**task, "media": as_data_uri(data, kind)}])
    data_items = answer.get("data")
    if exchange.status != 200 or not isinstance(data_items, list):
        raise RuntimeError(f"the upload was refused: {exchange.label}")
    return data_items[0]["mediaUUID"], data_items[0]["mediaURL"]


def finish_tasks(base: str, task_uuids: Iterable[str], seconds: float = TASK_SECONDS) -> list[Exchange]:
    """Poll the tasks until each has ended (each poll waits up to --poll-wait for its render): how each ended,
    and `no answer` for any still processing after `seconds`."""
    waiting = set(task_uuids)
    ends: list[Exchange] = []
    deadline = time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        polls = [{"taskType": "getResponse", "taskUUID": task_uuid} for task_uuid in sorted(waiting)[:100]]
        exchange, answer = post_json(base, polls)
        if exchange.status == 0 or exchange.status >= 500:
            ends.append(exchange)
            break
        for item in answer.get("data") or []:
            if item.get("taskUUID") in waiting and item.get("status") != "processing":
                ends.append(Exchange(exchange.status, f"task {item.get('status')}"))
                waiting.discard(item["taskUUID"])
        for error in answer.get("errors") or []:
            if error.get("taskUUID") in waiting:
                ends.append(Exchange(exchange.status, f"task {error.get('code')}"))
                waiting.discard(error["taskUUID"])
        named = {item.get("taskUUID") for item in [*(answer.get("data") or []), *(answer.get("errors") or [])]}
        unknown = {task_uuid for task_uuid, _ in zip(sorted(waiting), polls, strict=False) if task_uuid not in named}
        ends += [Exchange(exchange.status, "task unknown (refused when sent)") for _ in unknown]
        waiting -= unknown
    ends += [Exchange(0, f"task still processing after {seconds:g} s") for _ in waiting]
    return ends


def warm_render_pool(base: str) -> None:
    """Render two small tasks at once, so both render processes exist before memory is first read."""
    tasks = [inline_task(), inline_task()]
    post_json(base, tasks)
    ends = finish_tasks(base, [str(task["taskUUID"]) for task in tasks], 120)
    if [end.said for end in ends] != ["task success"] * 2:
        raise RuntimeError(f"the warm-up renders did not succeed: {[end.label for end in ends]}")


def nothing(base: str) -> None:
    pass


@dataclass
class Attack:
    """What a case sends. `setup` runs before memory is first read (it may add to `bodies`); `send` sends the
    hostile request(s) and answers what came back; the tasks of `task_uuids` are then polled until they end;
    `after` runs last, whatever happened."""

    bodies: list[bytes]
    send: Callable[[str], list[Exchange]]
    setup: Callable[[str], None] = nothing
    task_uuids: list[str] = field(default_factory=list)
    after: Callable[[], None] = lambda: None
    notes: list[str] = field(default_factory=list)  # what `send` saw besides answers, for the report

    @property
    def body_bytes(self) -> int:
        return sum(map(len, self.bodies))


def posting(*bodies: bytes, task_uuids: Iterable[str] = (), journal: bool = False) -> Attack:
    """Send each body in turn; with `journal`, read /__mock/requests afterwards (it holds what was sent)."""

    def send(base: str) -> list[Exchange]:
        exchanges = [post(base, body) for body in bodies]
        if journal:
            started = time.perf_counter()
            with urllib.request.urlopen(f"{base}/__mock/requests", timeout=REQUEST_SECONDS) as response:
                response.read()
                exchanges.append(Exchange(response.status, "journal read", time.perf_counter() - started))
        return exchanges

    return Attack(list(bodies), send, task_uuids=list(task_uuids))


# The cases. Each builds its bodies when it is prepared, before the mock starts: the figures are the server's,
# not this process's own work.


def deep_brackets() -> Attack:
    return posting(b"[" * 100_000 + b"]" * 100_000, journal=True)


def refused_60mb_strings() -> Attack:
    body = b'["' + b"x" * (60 * MB) + b'"]'
    return posting(body, body, body, journal=True)


def empty_objects_array() -> Attack:
    return posting(b"[" + b",".join([b"{}"] * (20 * MB)) + b"]")


def data_uri_upload_45mb() -> Attack:
    media = as_data_uri(b"\0" * (45 * MB), "video/mp4")
    upload_task = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload", "media": media}
    return posting(json.dumps([upload_task]).encode())


def far_segment_window() -> Attack:
    segment = {"startTime": 99_999, "endTime": 100_000, "audio": data_uri("voice.wav")}
    task = inline_task(providerSettings={"sync": {"segments": [segment]}})
    return posting(json.dumps([task]).encode(), task_uuids=[str(task["taskUUID"])])


def empty_segments(count: int) -> Callable[[], Attack]:
    def prepare() -> Attack:
        segments = b"[" + b",".join([b"{}"] * count) + b"]"
        return posting(with_raw(example_task(), "providerSettings", b'{"sync": {"segments": ' + segments + b"}}"))

    return prepare


def huge_png_frame() -> Attack:
    task = inline_task()
    task["inputs"] = {"video": as_data_uri(grey_png(16000, 16000), "image/png"), "audio": data_uri("voice.wav")}
    return posting(json.dumps([task]).encode(), task_uuids=[str(task["taskUUID"])])


def noise_looped_299s() -> Attack:
    video = as_data_uri(noise_clip(28), "video/mp4")  # 1.2 MB
    task = inline_task(outputQuality=99, providerSettings={"sync": {"syncMode": "loop"}})
    task["inputs"] = {"video": video, "audio": as_data_uri(tone_wav(299), "audio/wav")}
    return posting(json.dumps([task]).encode(), task_uuids=[str(task["taskUUID"])])


def self_url_uploads() -> Attack:
    """20 uploads, in one request, of the mock's own URL of a 45 MB upload made first."""
    bodies: list[bytes] = []

    def setup(base: str) -> None:
        media_url = upload(base, b"\0" * (45 * MB), "video/mp4")[1]
        tasks = [
            {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload", "media": media_url}
            for _ in range(20)
        ]
        bodies.append(json.dumps(tasks).encode())

    def send(base: str) -> list[Exchange]:
        return [post(base, bodies[0])]

    return Attack(bodies, send, setup)


def segments_sharing_an_upload() -> Attack:
    """200 segments of a 20 s video, each naming one 299 s upload, cropped at a different place in it."""
    audio = tone_wav(299)
    task = inline_task()
    task["inputs"] = {"video": as_data_uri(make_clip(CONTAINERS["MP4"], 20), "video/mp4")}
    bodies: list[bytes] = []

    def setup(base: str) -> None:
        media_uuid = upload(base, audio, "audio/wav")[0]
        segments = [
            {
                "startTime": round(index * 0.1, 2),
                "endTime": round(index * 0.1 + 0.09, 2),
                "audio": media_uuid,
                "audioStartTime": round(index * 1.49, 2),
                "audioEndTime": round(index * 1.49 + 0.09, 2),
            }
            for index in range(200)
        ]
        bodies.append(json.dumps([{**task, "providerSettings": {"sync": {"segments": segments}}}]).encode())

    def send(base: str) -> list[Exchange]:
        return [post(base, bodies[0])]

    return Attack(bodies, send, setup, [str(task["taskUUID"])])


def stalled_polls() -> Attack:
    """90 polls in one request of tasks whose media never arrives (a loopback port that accepts no connection):
    the request should wait one --poll-wait, not 90."""
    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen(128)
    port = stall.getsockname()[1]
    tasks = [inline_task() for _ in range(90)]
    for index, task in enumerate(tasks):
        task["inputs"] = {"video": f"http://127.0.0.1:{port}/{index}.mp4", "audio": data_uri("voice.wav")}
    polls = json.dumps([{"taskType": "getResponse", "taskUUID": task["taskUUID"]} for task in tasks]).encode()

    def setup(base: str) -> None:
        exchange, _ = post_json(base, tasks)
        if exchange.status != 200:
            raise RuntimeError(f"the 90 tasks were refused: {exchange.label}")

    def send(base: str) -> list[Exchange]:
        answered = post(base, polls)
        stall.close()  # the downloads waiting on it are reset, and the tasks end
        return [answered]

    return Attack([polls], send, setup, [str(task["taskUUID"]) for task in tasks], stall.close)


def object_of_keys() -> Attack:
    return posting(b"[{" + b",".join(b'"k%d":1' % index for index in range(4_000_000)) + b"}]")


def integers_in_a_task() -> Attack:
    integers = b"[" + b",".join([b"1"] * 30_000_000) + b"]"
    return posting(with_raw(example_task(), "providerSettings", b'{"sync": {"segments": ' + integers + b"}}"))


def integers_body() -> Attack:
    return posting(b"[" + b",".join([b"1"] * 30_000_000) + b"]")


def huge_ttl() -> Attack:
    return posting(with_raw(example_task(), "ttl", b"1" + b"0" * 400))


def surrogate_task_uuid() -> Attack:
    return posting(with_raw(example_task(), "taskUUID", b'"\\ud800"'))


def surrogate_api_key() -> Attack:
    poll = {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}
    body = b'[{"taskType": "authentication", "apiKey": "\\ud800"}, ' + json.dumps(poll).encode() + b"]"

    def send(base: str) -> list[Exchange]:
        return [post(base, body, headers={"Content-Type": "application/json"})]

    return Attack([body], send)


def nested(depth: int) -> Callable[[], Attack]:
    def prepare() -> Attack:
        return posting(with_raw(example_task(), "inputs", b'{"a": ' * depth + b"1" + b"}" * depth))

    return prepare


HALF_SENT = b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def half_sent_count() -> int:
    """20,000, or as many as this process's open-file limit leaves room for."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(20_000, soft - 500)


def half_sent_headers() -> Attack:
    """Connections that send part of a request's headers and nothing more, held until the mock closes them (its
    --request-timeout). A connection opened before them asks /health every 50 ms meanwhile, as a client already
    connected would: the case is judged by it (the watch's own /health asks on new connections, which meet the
    connection cap)."""
    count = half_sent_count()
    notes: list[str] = []

    def send(base: str) -> list[Exchange]:
        port = int(base.rsplit(":", 1)[1])
        held: list[socket.socket] = []
        exchanges: list[Exchange] = []
        flooding = threading.Event()
        asker = threading.Thread(target=ask_kept_alive, args=(port, flooding, exchanges))
        asker.start()
        started = time.monotonic()
        try:
            for _ in range(count):
                try:
                    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                    held.append(connection)
                    connection.sendall(HALF_SENT)
                except OSError as error:
                    exchanges.append(Exchange(-1, f"connect failed ({type(error).__name__})"))
            notes.append(f"{len(held)} connections opened in {time.monotonic() - started:.1f} s")
            time.sleep(REQUEST_TIMEOUT + 5)  # each held one has had its time to send the rest
            exchanges += [half_sent_outcome(connection) for connection in held]
        finally:
            flooding.set()
            asker.join()
            for connection in held:
                connection.close()
        return exchanges

    return Attack([HALF_SENT] * count, send, notes=notes)


def ask_kept_alive(port: int, stop: threading.Event, exchanges: list[Exchange]) -> None:
    """/health on one kept-alive connection every 50 ms until `stop` (or until the mock closes it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                connection.request("GET", "/health")
                response = connection.getresponse()
                response.read()
            except TimeoutError:
                exchanges.append(Exchange(0, "kept-alive /health within 10 s"))
                return
            except OSError as error:
                exchanges.append(Exchange(-1, f"kept-alive /health ({type(error).__name__})"))
                return
            said = (
                "kept-alive /health" if response.status == 200 else f"kept-alive /health {error_code(response.read())}"
            )
            exchanges.append(Exchange(response.status, said, time.perf_counter() - started))
            stop.wait(0.05)
    finally:
        connection.close()


def half_sent_outcome(connection: socket.socket) -> Exchange:
    """What a half-sent request got once its time was up: an answer, a close, or nothing (it hangs)."""
    connection.setblocking(False)
    try:
        head = connection.recv(64)
    except BlockingIOError:
        return Exchange(0, "half-sent request still open")
    except OSError as error:
        return Exchange(-1, f"half-sent request ({type(error).__name__})")
    if not head:
        return Exchange(-1, "half-sent request, no answer")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "0"
    words = {"503": "tooManyConnections"}
    return Exchange(int(status), f"half-sent request {words.get(status, '')}".rstrip())


@dataclass(frozen=True)
class Case:
    label: str
    prepare: Callable[[], Attack]
    renders: bool = False  # renders first, so that the render processes exist before memory is read
    kept_mb: float = 0  # what the caps let the case keep, beyond the growth bound
    # The error code of a refusal the case meets by design (a 503 at the connection cap): counted, not a fault.
    refused_as: str = ""
    # New connections meet that refusal too, so /health is judged on a connection opened before the flood; the
    # watch's new-connection figures go in the notes.
    judged_on_kept_alive: bool = False


CASES: dict[str, Case] = {
    "deep-nesting": Case("200 kB of `[[[…]]]`, then the journal read", deep_brackets),
    "large-refused-bodies": Case("three refused 60 MB strings, then the journal read", refused_60mb_strings),
    "large-array": Case("20 M empty objects in one array", empty_objects_array),
    "large-data-uri": Case("a 60 MB data URI upload (45 MB kept)", data_uri_upload_45mb, kept_mb=45),
    "far-segment-window": Case("a segment window at 100 000 s", far_segment_window),
    "empty-segments": Case("a task of 300,000 empty segments", empty_segments(300_000)),
    "empty-segments-60mb": Case("a task of 20 M empty segments", empty_segments(20_000_000)),
    "huge-frame": Case("a 16000x16000 PNG as inputs.video", huge_png_frame, renders=True),
    "result-cap": Case(
        "1.2 MB of noise looped to 299 s, outputQuality 99 (result within 256 MB)",
        noise_looped_299s,
        renders=True,
        kept_mb=256,
    ),
    "self-url-uploads": Case(
        "20 uploads by URL of the mock's own 45 MB upload (900 MB kept)", self_url_uploads, kept_mb=900
    ),
    "shared-segment-audio": Case("200 segments naming one 299 s upload", segments_sharing_an_upload, renders=True),
    "stalled-polls": Case("90 polls in one request, renders that cannot finish", stalled_polls),
    "object-of-keys": Case("an object of 4 million keys", object_of_keys),
    "integers-in-task": Case("30 M integers as a task's segments", integers_in_a_task),
    "integers-body": Case("30 M integers as the body", integers_body),
    "huge-ttl": Case("`ttl` 10^400", huge_ttl),
    "surrogate-task-uuid": Case("a lone surrogate as `taskUUID`", surrogate_task_uuid),
    "surrogate-api-key": Case("a lone surrogate as `apiKey`", surrogate_api_key),
    "nested-496": Case("a task nested 496 deep", nested(496)),
    "nested-974": Case("a task nested 974 deep", nested(974)),
    "half-sent-headers": Case(
        "half-sent request headers, held",
        half_sent_headers,
        refused_as="tooManyConnections",
        judged_on_kept_alive=True,
    ),
}


@dataclass(frozen=True)
class Measured:
    name: str
    body_bytes: int
    seconds: float  # sending the hostile request(s), until the last answer
    server_mb: float
    renders_mb: float
    health_ms: list[float]
    health: list[Exchange]
    exchanges: list[Exchange]
    kept_mb: float
    notes: list[str]
    refused_as: str = ""

    @property
    def growth_mb(self) -> float:
        return self.server_mb + self.renders_mb

    def faults(self) -> list[str]:
        """Why the case is not within its bounds (nothing when it is)."""
        found = []
        if self.growth_mb >= GROWTH_BOUND_MB + self.kept_mb:
            found.append(f"peak growth {self.growth_mb:.0f} MB ≥ {GROWTH_BOUND_MB + self.kept_mb:.0f} MB")
        if self.health_ms and max(self.health_ms) >= HEALTH_BOUND_MS:
            found.append(f"/health max {max(self.health_ms):.0f} ms ≥ {HEALTH_BOUND_MS} ms")
        for who, exchanges in (("/health", self.health), ("answers", self.exchanges)):
            failed = [e for e in exchanges if e.status == 0 or (e.status >= 500 and not self.refused(e))]
            for label, count in Counter(e.label for e in failed).items():
                found.append(f"{who}: {label} x{count}")
        return found

    def refused(self, exchange: Exchange) -> bool:
        return bool(self.refused_as) and exchange.status == 503 and exchange.said.endswith(self.refused_as)


def percentile(values: list[float], share: float) -> float:
    """The value `share` of the way up the sorted values (the nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def counted(exchanges: list[Exchange]) -> str:
    return ", ".join(f"{label} x{count}" for label, count in Counter(e.label for e in exchanges).items())


def size(count: int) -> str:
    return f"{count / MB:.1f} MB" if count >= MB else f"{count / 1024:.0f} kB" if count >= 1024 else f"{count} B"


class Watch:
    """/health asked every 10 ms on a new connection, and each process's peak resident memory every 50 ms, in
    threads of their own until `stop`."""

    def __init__(self, base: str, server: int, before: dict[int, float]) -> None:
        self.base, self.server, self.before = base, server, before
        self.latencies: list[float] = []
        self.health: list[Exchange] = []
        self.peaks: dict[int, float] = {}
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._ask_health), threading.Thread(target=self._sample_memory)]
        for thread in self.threads:
            thread.start()

    def _ask_health(self) -> None:
        port = int(self.base.rsplit(":", 1)[1])
        while not self.done.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            started = time.perf_counter()
            try:
                connection.request("GET", "/health")
                response = connection.getresponse()
                said = "" if response.status == 200 else f"/health {error_code(response.read())}".rstrip()
                exchange = Exchange(response.status, said)
            except TimeoutError:
                exchange = Exchange(0, "/health within 10 s")
            except OSError as error:
                exchange = Exchange(-1, f"/health ({type(error).__name__})")
            finally:
                connection.close()
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.health.append(exchange)
            self.done.wait(0.01)

    def _sample_memory(self) -> None:
        while True:
            self._sample()
            if self.done.wait(0.05):
                self._sample()
                return

    def _sample(self) -> None:
        for pid in [self.server, *descendants(self.server)]:
            with contextlib.suppress(OSError):  # the process has just ended
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), memory_mb(pid, "VmHWM"))

    def stop(self) -> tuple[float, float]:
        """Stop, and answer the growth of the server's peak and the sum of its render processes' peak growths."""
        self.done.set()
        for thread in self.threads:
            thread.join()
        growth = {pid: peak - self.before.get(pid, 0.0) for pid, peak in self.peaks.items()}
        return growth.pop(self.server, 0.0), sum(growth.values())


def measure(name: str) -> Measured:
    case = CASES[name]
    attack = case.prepare()
    port = free_port()
    try:
        with running(mock_command(port, "--processing-rate", "0"), port) as (base, process):
            if case.renders:
                warm_render_pool(base)
            attack.setup(base)
            time.sleep(0.5)
            before = {}
            for pid in [process.pid, *descendants(process.pid)]:
                before[pid] = memory_mb(pid, "VmRSS")
                reset_peak_memory(pid)
            watch = Watch(base, process.pid, before)
            started = time.perf_counter()
            exchanges = attack.send(base)
            took = time.perf_counter() - started
            exchanges += finish_tasks(base, attack.task_uuids)
            time.sleep(1.0)  # what the requests left to do shows in the peak
            server_mb, renders_mb = watch.stop()
    finally:
        attack.after()
    health_ms, health = watch.latencies, watch.health
    if case.judged_on_kept_alive:
        attack.notes.append(
            f"/health on new connections: p99 {percentile(health_ms, 0.99):.0f} ms, max {max(health_ms):.0f} ms, "
            f"[{counted(health)}]"
        )
        kept_alive = [e for e in exchanges if e.said.startswith("kept-alive /health")]
        health_ms, health = [e.seconds * 1000 for e in kept_alive if e.status > 0], kept_alive
    return Measured(
        name,
        attack.body_bytes,
        took,
        server_mb,
        renders_mb,
        health_ms,
        health,
        exchanges,
        case.kept_mb,
        attack.notes,
        case.refused_as,
    )


def report(measured: Measured) -> str:
    faults = measured.faults()
    return (
        f"{measured.name:21} {size(measured.body_bytes):>9}  sent in {measured.seconds:6.2f} s  "
        f"peak growth {measured.growth_mb:7.1f} MB "
        f"(server {measured.server_mb:.1f}, renders {measured.renders_mb:.1f})  "
        f"/health p99 {percentile(measured.health_ms, 0.99):6.1f} ms  max {max(measured.health_ms):6.1f} ms  "
        f"[{counted(measured.exchanges)}]  /health [{counted(measured.health)}]  "
        + "".join(f"({note})  " for note in measured.notes)
        + ("within bounds" if not faults else "NOT within bounds: " + "; ".join(faults))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=list(CASES), help="a case to run (default: all)")
    names = parser.parse_args().case or list(CASES)
    print(f"half-sent-headers opens {half_sent_count()} connections (the open-file limit allows it)", flush=True)
    for name in names:
        print(report(measure(name)), flush=True)


if __name__ == "__main__":
    main()
