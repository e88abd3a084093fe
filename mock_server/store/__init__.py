"""Task state behind one small interface (`TaskStore`), kept in memory or in SQLite."""

from mock_server.store.base import Expiry, Media, Result, ResultRow, Task, TaskRow, TaskStore, expiry
from mock_server.store.memory import InMemoryTaskStore
from mock_server.store.sqlite import SQLiteTaskStore, StoreUnavailable

__all__ = [
    "Expiry",
    "InMemoryTaskStore",
    "Media",
    "Result",
    "ResultRow",
    "SQLiteTaskStore",
    "StoreUnavailable",
    "Task",
    "TaskRow",
    "TaskStore",
    "expiry",
]
