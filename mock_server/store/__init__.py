"""Task state behind one small interface (`TaskStore`), kept in memory or in SQLite."""

from mock_server.store.base import Expiry, InUse, Media, Result, Task, TaskRow, TaskStore, expiry
from mock_server.store.memory import InMemoryTaskStore
from mock_server.store.sqlite import SQLiteTaskStore, StoreUnavailable

__all__ = [
    "Expiry",
    "InMemoryTaskStore",
    "InUse",
    "Media",
    "Result",
    "SQLiteTaskStore",
    "StoreUnavailable",
    "Task",
    "TaskRow",
    "TaskStore",
    "expiry",
]
