"""Admission control: how many runs call Claude at once, who waits, and in what order.

A process runs at most `max_live` runs at a time; the rest wait in a queue served round robin
by person (one person's ten requests do not hold back everyone else's one), and each person
may have at most `max_per_user` runs live or waiting.

Installed in many workspaces, each workspace has its own `max_live` slots, its own queue and
its own persons (`bot.slack.tenancy.workspace_key`, the workspace being served when the run
was accepted): one workspace's runs never queue behind, or count against, another's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.coordination.link import RedisDown
from bot.coordination.persons import LocalPersonRuns, PersonRuns
from bot.coordination.slots import MemorySlots, SharedSlots, Take
from bot.slack.tenancy import scoped, workspace_key

logger = logging.getLogger(__name__)

Position = Callable[[int], None]  # told how many runs are ahead, whenever that changes
Turn = Callable[[], Awaitable[None]]  # waits until the run holds a slot


class Admission:
    """Slots to run, per process; a fair queue for the rest; a cap per person."""

    def __init__(
        self,
        max_live: int,
        max_per_user: int,
        persons: PersonRuns | None = None,
        slots: SharedSlots | None = None,
        *,
        poll_s: float = 0.5,
    ) -> None:
        self.max_live = max_live
        self.max_per_user = max_per_user
        # The cap and the fair queue: with replicas the workspace's in Redis, else this
        # process's (`MemorySlots`, the same protocol and the same order): one path.
        self._slots: SharedSlots = slots if slots is not None else MemorySlots()
        self._poll_s = poll_s
        self._shared: set[str] = set()  # runs of this process in the shared slots or queue
        self._freed = asyncio.Event()  # a slot was given back here: waiting runs ask again
        self._refresher: asyncio.Task[None] | None = None
        # Where every replica counts a person's runs (None: this process is all there is).
        self._persons = persons or LocalPersonRuns()
        self._leaving: set[asyncio.Task[None]] = set()
        self._owner: dict[str, str] = {}  # run id -> user, for every run live or waiting
        self._where: dict[str, str] = {}  # run id -> its workspace (`workspace_key`)
        self._live: set[str] = set()

    def register(self, run_id: str, user: str, *, over_limit: bool = False) -> bool:
        """Count a new run against its person's cap; False if the person is at the cap.

        Synchronous on purpose: a request is counted the moment it is accepted, so two
        requests arriving together cannot both slip under the cap. `over_limit` admits runs
        accepted before (resumed after a restart) whatever the cap."""
        if not over_limit and len(self.runs_of(user)) >= self.max_per_user:
            return False
        self._owner[run_id] = user
        self._where[run_id] = workspace_key()
        return True

    async def confirm(self, run_id: str, *, always: bool = False) -> bool:
        """After the ack: count the run where every replica counts its person's runs; False
        (and the run forgotten) when the person is at the cap there. `always`: a run
        accepted before (resumed) counts whatever the cap, as in `register`."""
        user = self._owner.get(run_id)
        if user is None:
            return False
        cap = sys.maxsize if always else self.max_per_user
        if await self._persons.join(self._person(run_id), run_id, cap):
            return True
        self._owner.pop(run_id, None)
        self._where.pop(run_id, None)
        return False

    def runs_of(self, user: str) -> list[str]:
        """The person's runs, live or waiting, in the workspace being served."""
        here = workspace_key()
        return [
            run_id
            for run_id, owner in self._owner.items()
            if owner == user and self._where.get(run_id, "") == here
        ]

    def _person(self, run_id: str) -> str:
        """The run's person within its workspace: who the caps count."""
        return scoped(self._where.get(run_id, ""), self._owner.get(run_id, ""))

    def _live_in(self, workspace: str) -> int:
        return sum(1 for run_id in self._live if self._where.get(run_id, "") == workspace)

    def _has_room(self, workspace: str) -> bool:
        return self._live_in(workspace) < self.max_live

    @property
    def holding(self) -> int:
        """Runs holding a slot in this process (LAYOUT.md's word for admission's count)."""
        return len(self._live)

    @property
    def waiting_count(self) -> int:
        """Runs in the queue."""
        return len(self._shared - self._live)

    @contextlib.asynccontextmanager
    async def slot(self, run_id: str, on_position: Position) -> AsyncIterator[Turn]:
        """Join the queue at once (or take a free slot); `await turn()` inside waits for the
        slot, which is held until the block ends. Cancelling a waiting run just takes it out
        of the queue.

        Joining happens before the first await, so a run knows at once whether (and behind
        how many) it waits: its first message can say so."""
        async with self._shared_slot(self._slots, run_id, on_position) as shared_turn:
            yield shared_turn

    @contextlib.asynccontextmanager
    async def _shared_slot(
        self, slots: SharedSlots, run_id: str, on_position: Position
    ) -> AsyncIterator[Turn]:
        """`slot` through the slots (the workspace's with replicas, else this process's)."""
        self._owner.setdefault(run_id, "")
        workspace = self._where.setdefault(run_id, workspace_key())
        user = self._person(run_id)
        self._shared.add(run_id)
        self._keep_refreshing(slots)
        told: list[int] = []

        async def ask() -> bool:
            try:
                found = await slots.take(run_id, user, self.max_live, workspace=workspace)
            except RedisDown as down:
                # Alone until Redis answers: this process's own count decides.
                logger.warning("%s: the live-run cap is counted by this replica", down)
                found = Take(started=self._has_room(workspace), ahead=self.waiting_count)
            if found.started:
                self._live.add(run_id)
                return True
            if told != [found.ahead]:
                told[:] = [found.ahead]
                on_position(found.ahead)
            return False

        started = await ask()

        async def turn() -> None:
            nonlocal started
            while not started:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_s):
                        await self._freed.wait()
                started = await ask()

        try:
            yield turn
        finally:
            self._live.discard(run_id)
            self._shared.discard(run_id)
            if not self._shared and self._refresher is not None:
                # Nothing of this process's left to keep fresh: a sleeping refresher would
                # outlive the app's shutdown (the next run starts a new one).
                self._refresher.cancel()
                self._refresher = None
            task = asyncio.create_task(
                slots.give_back(run_id, workspace=workspace), name=f"give-back:{run_id}"
            )
            self._leaving.add(task)
            task.add_done_callback(self._leaving.discard)
            task.add_done_callback(lambda _: self._wake())

    async def step_out(self, run_id: str) -> None:
        """The run waits for a person (its plan's approval, issue 22.3): its slot goes to the
        next run until `step_in`."""
        if run_id not in self._live:
            return
        self._live.discard(run_id)
        try:
            await self._slots.give_back(run_id, workspace=self._where.get(run_id, ""))
        except RedisDown as down:
            logger.warning("%s: a run waiting for approval could not give its slot back", down)
        self._wake()

    async def step_in(self, run_id: str, on_position: Position) -> None:
        """Back from `step_out`: wait for a slot again, in the queue like any run."""
        if run_id in self._live:
            return
        workspace, person = self._where.get(run_id, ""), self._person(run_id)
        while True:
            try:
                found = await self._slots.take(run_id, person, self.max_live, workspace=workspace)
            except RedisDown:
                found = Take(started=self._has_room(workspace), ahead=0)
            if found.started:
                self._live.add(run_id)
                return
            on_position(found.ahead)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._freed.wait()

    def _wake(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()

    def _keep_refreshing(self, slots: SharedSlots) -> None:
        """Refresh this process's entries while it has any (they expire otherwise)."""
        if self._refresher is not None and not self._refresher.done():
            return

        async def refresh() -> None:
            period = getattr(slots, "held_for_s", 30) / 3
            while self._shared:
                await asyncio.sleep(period)
                by_workspace: dict[str, list[str]] = {}
                for run_id in sorted(self._shared):
                    by_workspace.setdefault(self._where.get(run_id, ""), []).append(run_id)
                try:
                    for workspace, run_ids in by_workspace.items():
                        await slots.refresh(run_ids, workspace=workspace)
                except RedisDown as down:
                    logger.warning("%s: could not refresh this replica's run slots", down)

        self._refresher = asyncio.create_task(refresh(), name="refresh-slots")

    def release(self, run_id: str) -> None:
        """The run is over: it no longer counts for its person (here at once, and where the
        replicas count soon after)."""
        person = self._person(run_id)
        user = self._owner.pop(run_id, None)
        self._where.pop(run_id, None)
        if user is not None and not isinstance(self._persons, LocalPersonRuns):
            task = asyncio.create_task(self._persons.leave(person, run_id), name=f"leave:{run_id}")
            self._leaving.add(task)
            task.add_done_callback(self._leaving.discard)
