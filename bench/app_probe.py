"""Inside the app process: what the run store writes, how long the garbage collector
stops the process, and a store that writes nothing.

`StoreWrites` listens to SQLAlchemy's engine events (every engine of the process, so the
app's own code is untouched) and counts the statements that modify data and the
transactions that committed at least one of them. `GcPauses` times every collection
through `gc.callbacks`. `NullStore` is the app without durability, for measuring what
the store costs: the same app, no SQL per run. `Probe` is what the driver reads."""

from __future__ import annotations

import dataclasses
import gc
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from bot.store import RunStore
from pipeline import new_run_id

_MODIFYING = frozenset({"INSERT", "UPDATE", "DELETE"})
_DIRTY = "bench_store_dirty"  # in Connection.info: this transaction modified data


@dataclass(frozen=True)
class WriteCounts:
    """Store writes so far: committed write transactions, modifying statements by kind."""

    transactions: int = 0
    statements: int = 0
    by_statement: dict[str, int] = field(default_factory=dict)  # "UPDATE subtasks" -> n

    def __sub__(self, before: WriteCounts) -> WriteCounts:
        kinds = Counter(self.by_statement)
        kinds.subtract(before.by_statement)
        return WriteCounts(
            self.transactions - before.transactions,
            self.statements - before.statements,
            {kind: n for kind, n in sorted(kinds.items()) if n},
        )


def statement_kind(statement: str) -> str | None:
    """`"INSERT runs"` for an INSERT INTO runs, and so on; None unless it modifies data."""
    words = statement.replace('"', " ").split(None, 3)
    if not words or words[0].upper() not in _MODIFYING:
        return None
    verb = words[0].upper()
    # INSERT INTO t, DELETE FROM t, UPDATE t (SQLAlchemy never writes INSERT OR ...).
    table = words[1] if verb == "UPDATE" else (words[2] if len(words) > 2 else "?")
    return f"{verb} {table}"


class StoreWrites:
    """Counts the process's data-modifying SQL from the moment `install` is called."""

    def __init__(self) -> None:
        self._transactions = 0
        self._kinds: Counter[str] = Counter()

    def install(self) -> None:
        """Listen on every engine (the class-level target covers engines made later)."""
        event.listen(Engine, "before_cursor_execute", self._executed)
        event.listen(Engine, "commit", self._committed)
        event.listen(Engine, "rollback", self._rolled_back)

    def counts(self) -> WriteCounts:
        """The counts so far."""
        kinds = dict(sorted(self._kinds.items()))
        return WriteCounts(self._transactions, sum(kinds.values()), kinds)

    def _executed(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        kind = statement_kind(statement)
        if kind is not None:
            self._kinds[kind] += 1
            conn.info[_DIRTY] = True

    def _committed(self, conn: Connection) -> None:
        if conn.info.pop(_DIRTY, False):
            self._transactions += 1

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop(_DIRTY, None)


@dataclass(frozen=True)
class GcPause:
    """One garbage collection that stopped the process for at least `GcPauses.LONG_S`."""

    at: float  # time.monotonic() at its start: one clock for every process of the machine
    seconds: float
    generation: int


class GcPauses:
    """Times the collector's runs; keeps the long ones."""

    LONG_S = 0.005

    def __init__(self) -> None:
        self.long: list[GcPause] = []
        self.seconds = [0.0, 0.0, 0.0]  # every collection's time so far, by generation
        self._started = 0.0

    def install(self) -> None:
        """Start timing every collection."""
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.monotonic()
            return
        seconds = time.monotonic() - self._started
        self.seconds[info["generation"]] += seconds
        if seconds >= self.LONG_S:
            self.long.append(GcPause(self._started, seconds, info["generation"]))


@dataclass(frozen=True)
class Probe:
    """What the app process reports when asked: its store writes and long GC pauses so far,
    and its threads' names by native id (the driver reads each thread's CPU in /proc)."""

    writes: WriteCounts
    pauses: tuple[GcPause, ...]
    threads: dict[str, str] = field(default_factory=dict)  # str(native id) -> name
    gcs: tuple[int, ...] = ()  # collections so far, by generation
    gc_s: tuple[float, ...] = ()  # their time so far, by generation

    def to_json(self) -> str:
        """One line, for the driver."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Probe:
        """Parse `to_json`'s line."""
        raw = json.loads(text)
        pauses = tuple(GcPause(**p) for p in raw["pauses"])
        return cls(
            WriteCounts(**raw["writes"]),
            pauses,
            dict(raw.get("threads", {})),
            tuple(raw.get("gcs", ())),
            tuple(raw.get("gc_s", ())),
        )

    def pauses_within(self, windows: Sequence[tuple[float, float]]) -> list[GcPause]:
        """The pauses that overlap any of the (start, end) monotonic windows."""
        return [
            p for p in self.pauses if any(p.at < end and p.at + p.seconds > s for s, end in windows)
        ]


def thread_names() -> dict[str, str]:
    """This process's live threads: native id (as /proc/<pid>/task names it) -> name."""
    return {str(t.native_id): t.name for t in threading.enumerate() if t.native_id is not None}


class NullStore(RunStore):
    """The run store minus every write the app makes per run: no SQL, nothing durable.

    Opened like a RunStore (on `sqlite://`, so its reads, made at start-up, find nothing).
    Any write this class does not skip still reaches that in-memory database and shows in
    `StoreWrites`; the benchmark checks that it saw none, so a new store write in the app
    cannot slip into the "without the store" numbers unnoticed."""

    async def create_run(self, *_: Any, **kwargs: Any) -> str:
        """The id the caller chose, or a new one."""
        run_id = kwargs.get("run_id")
        return run_id if isinstance(run_id, str) else new_run_id()

    async def claim_delivery(self, *_: Any, **__: Any) -> bool:
        """Always claimed (the registry's in-process dedupe still stops repeats)."""
        return True

    async def purge_deliveries(self) -> int:
        """Nothing stored, nothing to forget."""
        return 0

    async def mark_paused(self, run_ids: Iterable[str], *_: Any, **__: Any) -> int:
        """As if every run was paused."""
        return len(list(run_ids))

    async def mark_running(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def set_thread(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def save_context(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def save_plan(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def save_subtask(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def add_answer_ts(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def save_work(self, *_: Any, **__: Any) -> None:
        """Skipped (the run's working time, for its deadline across a resume)."""

    async def save_effort(self, *_: Any, **__: Any) -> None:
        """Skipped (the run's effort and estimate)."""

    async def save_trace_id(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def finish_run(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def record_spend(self, *_: Any, **__: Any) -> None:
        """Skipped."""

    async def run_cost(self, *_: Any, **__: Any) -> None:
        """No ledger: a run's footer keeps the pipeline's own figure."""
