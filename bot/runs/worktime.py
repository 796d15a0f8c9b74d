"""A run's working time and estimate history in the store (issue 22.1, 22.4).

Working time is what the deadline counts: kept with the run as it goes, so a run resumed
after a restart (SIGTERM or SIGKILL) or taken over by another replica goes on from the time
already spent instead of starting a fresh deadline. Events alone would not keep it: a
subagent that hangs sends none until the deadline stops it, so the time is saved on a tick.

Estimate history is what corrects the next plan's estimate: the basis and the actual cost
and time of the workspace's recent runs at the same effort."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from bot.store import Fence, Fenced, RunStore, StoreError
from pipeline import (
    Clarification,
    Clarify,
    EventSink,
    PipelineEvent,
    Plan,
    Review,
    RunCancelled,
    RunFailed,
    RunFinished,
)
from pipeline.estimate import HISTORY_MAX, Past

logger = logging.getLogger(__name__)

# How often a run's working time is saved: a fifth of the deadline (a restart loses at most
# that much of it), between 1 s (store writes per run stay rare) and 15 s.
TICK_MIN_S, TICK_MAX_S, TICKS_PER_DEADLINE = 1.0, 15.0, 5


def tick_s(deadline_s: float) -> float:
    """How often a run with `deadline_s` saves its working time."""
    return min(TICK_MAX_S, max(TICK_MIN_S, deadline_s / TICKS_PER_DEADLINE))


async def estimate_history(store: RunStore, workspace: str, effort: str | None) -> list[Past]:
    """The workspace's recent runs at `effort`, newest first, as the estimate reads them;
    none when the store cannot be read (the plan's basis alone is still an estimate)."""
    try:
        runs = await store.estimate_history(workspace, effort, limit=HISTORY_MAX)
    except StoreError:
        logger.warning("run store: no estimate history; the plan's basis alone is shown")
        return []
    return [
        Past(
            basis_usd=run.basis_usd,
            basis_s=run.basis_s,
            actual_usd=run.cost_usd,
            actual_s=run.work_s,
        )
        for run in runs
        if run.work_s > 0
    ]


class WorkTime:
    """Saves a run's working time — `worked_s` from earlier attempts plus this one's — every
    `tick_s` from `start` (the pipeline starts calling Claude), and once at `stop` (its end,
    a pause for a restart included)."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        worked_s: float,
        deadline_s: float,
        clock: Callable[[], float],
        fence: Fence | None = None,
    ) -> None:
        self._store, self._run_id, self._fence = store, run_id, fence
        self._worked_s, self._deadline_s, self._clock = worked_s, deadline_s, clock
        self._started: float | None = None
        self._ended: float | None = None  # the pipeline reported the run's end then
        self._waited_s = 0.0  # waits for a person (approval, an answer): not working time
        self._ticker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """The run works from now."""
        self._started = self._clock()
        self._ticker = asyncio.create_task(self._tick(), name=f"worktime-{self._run_id}")

    async def stop(self) -> None:
        """The run stopped working (a run never started saves nothing; one whose end was
        reported saved its time then)."""
        if self._ticker is None:
            return
        self._ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticker
        if self._ended is not None:
            return
        # Shielded: a run cancelled for a restart still records how long it worked.
        await asyncio.shield(self._save())

    def around(self, sink: EventSink) -> EventSink:
        """`sink`, with the working time saved as the run ends, before `sink` records the
        end (a finished run's row is no longer this replica's to write). The time stops
        there: what the sink does next (the answer posted, the plan's last edit, paced behind
        the workspace's other edits) is Slack's time, not the run's; counting it made the
        estimates, which learn from these times, seconds off whenever Slack was busy."""

        async def record(event: PipelineEvent) -> None:
            if isinstance(event, RunFinished | RunFailed | RunCancelled):
                self._ended = self._clock()
                await self._save()
            await sink(event)

        return record

    def worked(self) -> float:
        """Working time so far (up to the run's end once reported), earlier attempts
        included."""
        now = self._ended if self._ended is not None else self._clock()
        started = self._started if self._started is not None else now
        return self._worked_s + now - started - self._waited_s

    def reviewed(self, review: Review | None) -> Review | None:
        """`review`, its wait for a person not counted (as the pipeline's own clock does)."""
        if review is None:
            return None
        decided = review

        async def waited(plan: Plan) -> Plan:
            with self._waiting():
                return await decided(plan)

        return waited

    def clarified(self, clarify: Clarify) -> Clarify:
        """`clarify`, its waits for an answer not counted."""
        return _Clarified(clarify, self._waiting)

    @contextlib.contextmanager
    def _waiting(self) -> Iterator[None]:
        began = self._clock()
        try:
            yield
        finally:
            self._waited_s += self._clock() - began

    async def _save(self) -> bool:
        try:
            await self._store.save_work(self._run_id, self.worked(), fence=self._fence)
        except Fenced:
            return False  # another replica owns the run: its time is that replica's to keep
        except StoreError:
            logger.warning("run store: working time not saved [run_id=%s]", self._run_id)
        return True

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(tick_s(self._deadline_s))
            if not await self._save():
                return


class _Clarified:
    """A `Clarify` whose waits for a person are not working time."""

    def __init__(
        self, inner: Clarify, waiting: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> None:
        self._inner, self._waiting = inner, waiting

    async def earlier(self) -> Clarification | None:
        with self._waiting():
            return await self._inner.earlier()

    async def ask(self, question: str) -> str:
        with self._waiting():
            return await self._inner.ask(question)
