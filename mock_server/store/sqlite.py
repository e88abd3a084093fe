"""A persistent TaskStore: SQLite for task state, files on disk beside it for results and uploads.

Changes made on the event loop are committed in groups: the first opens a transaction and schedules one
commit at the end of the loop's turn, and `durable()` waits for it. The dispatcher awaits `durable()` before it
answers, so a task acknowledged to a client is on disk even if the process is killed the next moment (WAL
mode: a killed process loses nothing committed) — at the cost of one commit per turn, not one per change
(a commit costs about as much as four inserts). Changes made from another thread (the expiry sweep)
commit at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Container, Iterator
from pathlib import Path

from mock_server import exceptions
from mock_server.faults import parse_fault
from mock_server.store.base import (
    Expiry,
    FileKey,
    Media,
    Result,
    StoredBytes,
    Task,
    expiry,
    retention_cutoff,
)

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_uuid TEXT PRIMARY KEY,
    output_format TEXT NOT NULL,
    request_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    result_rows TEXT NOT NULL,
    error_json TEXT,
    base_url TEXT NOT NULL,
    faults TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
CREATE TABLE IF NOT EXISTS videos (video_uuid TEXT PRIMARY KEY, task_uuid TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS media (
    media_uuid TEXT PRIMARY KEY, content_type TEXT NOT NULL, added_at REAL NOT NULL, owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS delivered (key TEXT PRIMARY KEY);
"""


class StoreUnavailable(Exception):
    """The data directory or its database cannot be used (unwritable, corrupt, not a database)."""


class SQLiteTaskStore:
    """Tasks in `DATA_DIR/mock.sqlite`; result files in `DATA_DIR/files`, uploads in `DATA_DIR/media`, within a
    budget of bytes (`StoredBytes`: the files found at start are counted, oldest modified first)."""

    def __init__(self, data_dir: Path, max_stored_bytes: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        database = self.data_dir / "mock.sqlite"
        try:
            for folder in ("files", "media"):
                (self.data_dir / folder).mkdir(parents=True, exist_ok=True)
            if database.exists() and database.stat().st_size == 0:
                log.warning("%s is empty: starting with no tasks", database)
            # One connection, used from the event loop and the expiry sweep's thread alike, behind a lock.
            self._db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # No fsync: what a commit hands the OS survives the process being killed, which is the durability a
            # mock owes. At NORMAL, each of SQLite's checkpoints (every ~400 submissions) waited on two fsyncs on
            # the event loop: a third of a submission's cost, and stalls of 5-7 ms (measured). An OS crash or power
            # loss can cost the last changes, or the file (the mock then says so and exits).
            self._db.execute("PRAGMA synchronous=OFF")
            _check_pages(self._db)
            self._db.executescript(SCHEMA)
            _add_owner_columns(self._db)
        except (sqlite3.Error, OSError) as error:
            raise StoreUnavailable(f"cannot use {database}: {error}") from None
        self._lock = threading.Lock()
        self._group: asyncio.Future[None] | None = None  # the commit scheduled for this turn of the loop
        self._stored = StoredBytes(max_stored_bytes)
        for key, path in sorted(self._kept_files(), key=lambda found: found[1].stat().st_mtime):
            self._drop(self._stored.add(key, path.stat().st_size))

    def close(self) -> None:
        """Commit what is pending, fold the write-ahead log into the database file, so the folder is whole
        without it, and close."""
        self._commit_group()
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:  # a full disk: the log stays beside the database, read at the next start
                log.warning("%s: the write-ahead log stays beside the database (%s)", self.data_dir, error)
            self._db.close()

    async def durable(self) -> None:
        if self._group is not None:
            await asyncio.shield(self._group)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Statements run inside the open transaction, and are committed with their group (see the module)."""
        with self._lock:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            try:
                yield
            finally:
                loop = _running_loop()
                if loop is None:
                    self._db.execute("COMMIT")
                elif self._group is None:
                    self._group = loop.create_future()
                    loop.call_soon(self._commit_group)

    def _commit_group(self) -> None:
        failure: sqlite3.Error | None = None
        with self._lock:
            group, self._group = self._group, None
            try:
                if self._db.in_transaction:
                    self._db.execute("COMMIT")
            except sqlite3.Error as error:  # disk full, I/O error: the group is lost, and said so
                failure = error
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                        self._db.execute("ROLLBACK")
        if failure is not None:
            log.warning("%s: changes not committed (%s); no answer acknowledged them", self.data_dir, failure)
        if group is not None and not group.done():
            if failure is None:
                group.set_result(None)
            else:
                group.set_exception(_storage_error(failure))
                group.exception()  # a group no answer waits on (a render's) is said once, above, not at collection

    def add(self, task: Task) -> bool:
        with self._writing():
            try:
                self._db.execute("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(task))
                self._db.executemany(
                    "INSERT OR REPLACE INTO videos VALUES (?, ?)",
                    [(result.video_uuid, task.task_uuid) for result in task.results],
                )
            except sqlite3.IntegrityError:  # the statement is undone; the rest of the group stands
                return False
        return True

    def replace(self, task: Task) -> None:
        with self._writing():
            row = _row(task)
            self._db.execute(
                "UPDATE tasks SET output_format = ?, request_json = ?, created_at = ?, result_rows = ?, error_json = ?,"
                " base_url = ?, faults = ?, owner = ? WHERE task_uuid = ?",
                (*row[1:], row[0]),
            )

    def get(self, task_uuid: str) -> Task | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM tasks WHERE task_uuid = ?", (task_uuid,)).fetchone()
        return _task(row) if row else None

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None:
        with self._lock:
            row = self._db.execute("SELECT task_uuid FROM videos WHERE video_uuid = ?", (video_uuid,)).fetchone()
        task = self.get(row[0]) if row else None
        if task is None:
            return None
        return task, next(result for result in task.results if result.video_uuid == video_uuid)

    def put_file(self, task_uuid: str, data: bytes) -> None:
        _write_atomically(self._file(task_uuid), data)
        self._drop(self._stored.add(("file", task_uuid), len(data)))

    def _kept_files(self) -> Iterator[tuple[FileKey, Path]]:
        for kind, folder in (("file", "files"), ("media", "media")):
            for path in (self.data_dir / folder).iterdir():
                if path.suffix != ".partial":
                    yield (kind, path.name), path

    def _drop(self, keys: list[FileKey]) -> None:
        """Remove the files `StoredBytes` dropped (an upload with its row)."""
        for kind, name in keys:
            if kind == "file":
                self._file(name).unlink(missing_ok=True)
            else:
                self.delete_media(name)

    def _drop_file(self, task_uuid: str) -> None:
        self._stored.remove(("file", task_uuid))
        self._file(task_uuid).unlink(missing_ok=True)

    def get_file(self, task_uuid: str) -> bytes | None:
        path = self._file(task_uuid)
        return path.read_bytes() if path.exists() else None

    def add_media(self, media_uuid: str, media: Media, added_at: float) -> None:
        _write_atomically(self._media(media_uuid), media.data)
        with self._writing():
            self._db.execute(
                "INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?)",
                (media_uuid, media.content_type, added_at, media.owner),
            )
        self._drop(self._stored.add(("media", media_uuid), len(media.data)))

    def get_media(self, media_uuid: str) -> Media | None:
        with self._lock:
            row = self._db.execute(
                "SELECT content_type, owner, added_at FROM media WHERE media_uuid = ?", (media_uuid,)
            ).fetchone()
        path = self._media(media_uuid)
        return Media(path.read_bytes(), row[0], row[1], row[2]) if row and path.exists() else None

    def delete_media(self, media_uuid: str) -> bool:
        with self._writing():
            deleted = self._db.execute("DELETE FROM media WHERE media_uuid = ?", (media_uuid,)).rowcount
        self._stored.remove(("media", media_uuid))
        self._media(media_uuid).unlink(missing_ok=True)
        return deleted > 0

    def all_tasks(self) -> list[Task]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM tasks ORDER BY created_at").fetchall()
        return [_task(row) for row in rows]

    def has_file(self, task_uuid: str) -> bool:
        return self._file(task_uuid).exists()

    def mark_delivered(self, key: str) -> None:
        with self._writing():
            self._db.execute("INSERT OR IGNORE INTO delivered VALUES (?)", (key,))

    def was_delivered(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM delivered WHERE key = ?", (key,)).fetchone() is not None

    def clear(self, namespace: str | None = None) -> list[str]:
        if namespace is None:
            with self._writing():
                dropped = [t for (t,) in self._db.execute("SELECT task_uuid FROM tasks")]
                for table in ("tasks", "videos", "media", "delivered"):
                    self._db.execute(f"DELETE FROM {table}")
            for folder in ("files", "media"):
                for path in (self.data_dir / folder).iterdir():
                    path.unlink(missing_ok=True)
            self._stored.clear()
            return dropped
        # The default namespace's owners hold no "/"; another's start with "<namespace>/".
        where, params = (
            ("instr(owner, '/') = 0", ())
            if not namespace
            else ("substr(owner, 1, ?) = ?", (len(namespace) + 1, namespace + "/"))
        )
        with self._writing():
            tasks = [t for (t,) in self._db.execute(f"SELECT task_uuid FROM tasks WHERE {where}", params)]
            media = [m for (m,) in self._db.execute(f"SELECT media_uuid FROM media WHERE {where}", params)]
            self._db.executemany("DELETE FROM tasks WHERE task_uuid = ?", [(t,) for t in tasks])
            self._db.executemany("DELETE FROM videos WHERE task_uuid = ?", [(t,) for t in tasks])
            self._db.executemany("DELETE FROM media WHERE media_uuid = ?", [(m,) for m in media])
        for task_uuid in tasks:
            self._drop_file(task_uuid)
        for media_uuid in media:
            self._stored.remove(("media", media_uuid))
            self._media(media_uuid).unlink(missing_ok=True)
        return tasks

    def expire(self, now: float, retention: float | None, in_use: Container[str] = frozenset()) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM tasks").fetchall()
            old_media = self._db.execute(
                "SELECT media_uuid FROM media WHERE added_at < ?", (retention_cutoff(now, retention),)
            ).fetchall()
        dropped = []
        for task in map(_task, rows):
            verdict = expiry(task, now, retention)
            if verdict is Expiry.KEEP or task.task_uuid in in_use:
                continue
            if verdict is Expiry.DROP_TASK:
                with self._writing():
                    self._db.execute("DELETE FROM tasks WHERE task_uuid = ?", (task.task_uuid,))
                    self._db.execute("DELETE FROM videos WHERE task_uuid = ?", (task.task_uuid,))
                dropped.append(task.task_uuid)
            self._drop_file(task.task_uuid)
        for (media_uuid,) in old_media:
            if media_uuid not in in_use:
                self.delete_media(media_uuid)
        return dropped

    def _file(self, task_uuid: str) -> Path:
        # Names come from UUIDs this server made or validated; Path().name keeps any other text in the folder.
        return self.data_dir / "files" / Path(task_uuid).name

    def _media(self, media_uuid: str) -> Path:
        return self.data_dir / "media" / Path(media_uuid).name


def _row(task: Task) -> tuple[object, ...]:
    return (
        task.task_uuid,
        task.output_format,
        task.request_json,
        task.created_at,
        json.dumps([list(row) for row in task.result_rows]),
        task.error_json,
        task.base_url,
        json.dumps([fault.describe() for fault in task.faults]),
        task.owner,
    )


def _task(row: tuple[object, ...]) -> Task:
    task_uuid, output_format, request_json, created_at, rows, error_json, base_url, faults, owner = row
    # json writes math.inf (a result not ready yet) as Infinity and reads it back as a float.
    results = tuple(tuple(result) for result in json.loads(str(rows)))
    return Task(
        str(task_uuid),
        str(output_format),
        str(request_json),
        float(created_at),  # type: ignore[arg-type]
        results,
        error_json if error_json is None else str(error_json),
        str(base_url),
        tuple(parse_fault(text) for text in json.loads(str(faults))),
        str(owner),
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # the expiry sweep's thread
        return None


def _check_pages(db: sqlite3.Connection) -> None:
    """Every page of the database read once: a page corrupted behind a valid header would otherwise fail the
    first read that reaches it, the resumption of work at start-up among them. `quick_check` reads each page
    but skips matching indexes to rows: about 30 ms at start for 100 000 tasks (37 MB, measured)."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check(1)")]
    if problems != ["ok"]:
        found = " ".join(" ".join(problems).split())  # one line: SQLite's report spans several
        raise sqlite3.DatabaseError(f"database disk image is malformed ({found})")


def _add_owner_columns(db: sqlite3.Connection) -> None:
    """A data directory from before tasks and uploads had owners: add the column (empty: no owner)."""
    for table in ("tasks", "media"):
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        if "owner" not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN owner TEXT NOT NULL DEFAULT ''")


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_suffix(".partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _storage_error(error) from None


# How a store that cannot take a write says so: no space, a quota, a file-size limit. SQLite reports only ENOSPC
# as SQLITE_FULL; a quota or a file-size limit reaches it as a failed write.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
FULL_SQLITE_ERRORS = frozenset({"SQLITE_FULL", "SQLITE_IOERR_WRITE"})


def _storage_error(error: OSError | sqlite3.Error) -> Exception:
    """`storageFull` for a write the data directory had no room for; anything else as it is (a bug: 500)."""
    full = (
        error.errno in FULL_ERRNOS
        if isinstance(error, OSError)
        else getattr(error, "sqlite_errorname", None) in FULL_SQLITE_ERRORS
    )
    if not full:
        return error
    return exceptions.STORAGE_FULL("The mock's --data-dir has no room for this; nothing of it was kept.")
