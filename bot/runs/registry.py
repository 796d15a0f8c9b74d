"""The run registry: dedupes Slack deliveries and owns every run's task (cancel, shut down).

What a run is and shows belongs to its owner (`bot.thread.owner`); the registry only tracks
which runs are live in this process and starts, cancels and pauses them. With several
replicas it also keeps each live run's lease (`bot.runs.ownership`) and stops, quietly, a run
whose lease it lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from bot.coordination import Claim, Coordination, local_coordination
from bot.render.notes import Stop
from bot.runs.admission import Admission
from bot.runs.ownership import Ownership, Tenure
from bot.store import RunStore
from bot.thread.owner import RunOwner
from pipeline import new_run_id

logger = logging.getLogger(__name__)

# How long a run cancelled at shutdown gets for its last writes, beyond the shutdown timeout.
LAST_WRITES_S = 2.0

# Slack retries an unacknowledged event three times, the last about five minutes after the
# first try; a delivery key is remembered well past that, by time (never evicted by count).
DELIVERY_TTL_S = 60 * 60


class RunRegistry:
    """Tracks runs so none is fire-and-forget; remembers recent deliveries and runs."""

    def __init__(
        self,
        store: RunStore,
        admission: Admission,
        *,
        clock: Callable[[], float] = time.monotonic,
        remember_runs: int = 500,
        coordination: Coordination | None = None,
        lease_s: float = 15.0,
    ) -> None:
        self.admission = admission
        self._clock = clock
        # What replicas share (deliveries, Cancel, ...); by default this process alone.
        self.coordination = coordination or local_coordination(store, clock)
        self.ownership = Ownership(self.coordination, store, lease_s)
        self._runs: OrderedDict[str, RunOwner] = OrderedDict()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._remember_runs = remember_runs
        self.accepting = True

    async def claim(self, *keys: str) -> Claim:
        """`Claim.WON` (true) the first time any of `keys` is delivered within
        `DELIVERY_TTL_S`; false for a repeat, or when it cannot be checked (`UNDECIDED`).

        Slack resends events it thinks were lost (also after we restarted, and to another
        replica), and one message can arrive as two events: every key of a request is
        claimed (`bot.coordination.dedupe`)."""
        return await self.coordination.claims.claim(keys, DELIVERY_TTL_S)

    def admit(self, user: str, *, run_id: str | None = None, resumed: bool = False) -> str | None:
        """A run id counted against `user`'s cap, or None when they are at it (resumed runs
        were accepted before and always count)."""
        run_id = run_id or new_run_id()
        return run_id if self.admission.register(run_id, user, over_limit=resumed) else None

    def runs_of(self, user: str) -> list[RunOwner]:
        """The person's runs, live or waiting, in this process."""
        return [run for r in self.admission.runs_of(user) if (run := self._runs.get(r))]

    def start(
        self, run: RunOwner, work: Coroutine[Any, Any, None], tenure: Tenure | None = None
    ) -> asyncio.Task[None]:
        """Run `work` as the tracked task of `run` (held by `tenure` when replicas share
        runs: kept while the run goes on, given up when it ends)."""
        if tenure is not None and self.ownership.shared:
            work = self._owned(run, work, tenure)
        task = asyncio.create_task(work, name=f"run:{run.run_id}")
        self._tasks[run.run_id] = task
        self._runs[run.run_id] = run
        self._runs.move_to_end(run.run_id)
        while len(self._runs) > self._remember_runs:
            oldest = next(iter(self._runs))
            if oldest in self._tasks:
                break
            self._runs.pop(oldest)
        task.add_done_callback(lambda done: self._finished(run.run_id, done))
        return task

    async def _owned(self, run: RunOwner, work: Coroutine[Any, Any, None], tenure: Tenure) -> None:
        """`work`, with its lease renewed meanwhile and given up after."""
        keeper = asyncio.create_task(self.ownership.keep(tenure), name=f"lease:{run.run_id}")
        keeper.add_done_callback(lambda done: self._lost(run, done))
        try:
            await work
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            await self.ownership.release(tenure)

    def _lost(self, run: RunOwner, keeper: asyncio.Task[None]) -> None:
        """The run's lease could not be kept: stop it here without a word (another replica
        may take it over and resume it in its thread)."""
        if keeper.cancelled():
            return  # the run ended and gave its lease up
        if keeper.exception() is not None:
            logger.error(
                "lease keeper crashed [run_id=%s]", run.run_id, exc_info=keeper.exception()
            )
        task = self._tasks.get(run.run_id)
        if task is not None and not task.done():
            run.stopping(Stop("moved"))
            task.cancel()

    def _finished(self, run_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(run_id) is task:
            del self._tasks[run_id]
        self.admission.release(run_id)
        if not task.cancelled() and task.exception() is not None:
            logger.error("run task %s crashed", task.get_name(), exc_info=task.exception())

    def get(self, run_id: str) -> RunOwner | None:
        """A live or recently finished run of this process."""
        return self._runs.get(run_id)

    def is_running(self, run_id: str) -> bool:
        """Whether the run's task is still going in this process."""
        return run_id in self._tasks

    @property
    def running(self) -> list[RunOwner]:
        """Runs still executing in this process (LAYOUT.md's word: admission's count is
        `holding`, the store's going runs ACTIVE_STATUSES)."""
        return [self._runs[run_id] for run_id in self._tasks if run_id in self._runs]

    @property
    def task_count(self) -> int:
        """How many run tasks are alive (for leak checks)."""
        return len(self._tasks)

    def cancel(self, run_id: str, by: str) -> bool:
        """Cancel a live run; False if it is unknown or already over.

        A run that has ended (its answer or end note is out) is over, though its task may
        still wait for its plan's last edit: cancelling then would cut that edit off and
        leave the finished run a live Cancel button."""
        task, run = self._tasks.get(run_id), self._runs.get(run_id)
        if task is None or run is None or task.done() or run.ended:
            return False
        run.stopping(Stop("cancelled_by_user", by))
        task.cancel()
        return True

    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop accepting runs; pause the live ones, each saying so in its thread first;
        wait (bounded by `timeout_s` in all) for their tasks to end."""
        self.accepting = False
        deadline = self._clock() + timeout_s
        pausing = [run for run in self.running if not run.ended]
        if pausing:
            # Notes before anything else: each is one post in its own thread, and none waits
            # behind plan edits (those are paced apart, per workspace).
            notes = [asyncio.create_task(run.pause()) for run in pausing]
            _, late = await asyncio.wait(notes, timeout=timeout_s)
            for note in late:
                note.cancel()
            if late:  # a cancelled note may still be recording itself: see LAST_WRITES_S
                await asyncio.wait(late, timeout=LAST_WRITES_S)
        for run in pausing:
            task = self._tasks.get(run.run_id)
            if task is not None:
                task.cancel()
        tasks = list(self._tasks.values())
        if tasks:
            remaining = max(0.1, deadline - self._clock())
            _, pending = await asyncio.wait(tasks, timeout=remaining)
            for task in pending:
                task.cancel()
            if pending:
                logger.warning("%d runs did not stop within %.0fs", len(pending), timeout_s)
                # A cancelled run still makes its last writes (its journal says it was paused):
                # let them land, briefly, so the store is never closed under a query in flight
                # (its driver's thread would answer a loop that has already closed).
                await asyncio.wait(pending, timeout=LAST_WRITES_S)
