"""The durable run store: runs, subtasks, Slack delivery keys and spend, in SQL.

`RunStore` is the whole API; what it returns are the frozen records of `records`. Nothing
from SQLAlchemy leaves this package.
"""

from bot.store.core import Fence, Fenced, StoreDown, StoreError, UnknownRun, UnknownSubtask
from bot.store.migrate import SchemaChange
from bot.store.records import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    UNFINISHED_STATUSES,
    CountedRun,
    DaySpend,
    EndReason,
    OutputClaim,
    PurgeCounts,
    RunActuals,
    RunSource,
    RunStatus,
    RunSummary,
    Source,
    StoredRun,
    StoredSubtask,
    StoredUsage,
    SubtaskState,
)
from bot.store.rows import CorruptRow
from bot.store.store import RunStore
from bot.store.url import DatabaseURLError
from bot.store.writes import FinishedStatus

__all__ = [
    "ACTIVE_STATUSES",
    "FINISHED_STATUSES",
    "UNFINISHED_STATUSES",
    "CorruptRow",
    "CountedRun",
    "DatabaseURLError",
    "DaySpend",
    "EndReason",
    "Fence",
    "Fenced",
    "FinishedStatus",
    "OutputClaim",
    "PurgeCounts",
    "RunActuals",
    "RunSource",
    "RunStatus",
    "RunStore",
    "RunSummary",
    "SchemaChange",
    "Source",
    "StoreDown",
    "StoreError",
    "StoredRun",
    "StoredSubtask",
    "StoredUsage",
    "SubtaskState",
    "UnknownRun",
    "UnknownSubtask",
]
