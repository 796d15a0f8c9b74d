"""Client-side pacing so we stay under Slack's rate limits instead of collecting 429s.

slack_sdk's retry handlers still honour Retry-After when a 429 comes anyway; pacing makes
that the exception. Numbers follow Slack's published tiers (DESIGN.md "Platform limits").

Calls sharing a limit wait in one queue, and the order matters more than the rate: a person
waits for an answer, nobody waits for the fifth edit of a plan. So a waiting call has
- a priority: what a person is waiting for goes first (answers, end notes, private replies),
  plan edits last;
- a turn key (the person it is for): among calls of one priority, each key with calls
  waiting gets one turn per round, so one person's fifty requests in a channel do not hold
  back another person's one;
- optionally a coalesce key (the message it edits): a newer call with the same key takes
  the older one's place in the queue and the older one is skipped, so a message that is
  behind on edits gets one edit, with its latest state, not a backlog of stale ones."""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.coordination.buckets import PRUNE_AT, MemoryBuckets, Rate, RateBuckets, slack_scope
from bot.slack import tenancy


class Priority(enum.IntEnum):
    """How soon a call should go; lower goes first."""

    URGENT = 0  # a person is waiting for it: answers, end notes, private replies
    NORMAL = 1  # a run's root and plan messages, reads
    LOW = 2  # plan-message edits: each carries the latest state whenever it goes


@dataclass(eq=False)
class Ticket:
    """One waiting call. `granted` says whether it may go (False: a newer call took its place)."""

    priority: Priority
    turn: str
    coalesce: str | None
    granted: asyncio.Future[bool]


class Turns:
    """The waiting calls of one rate limit, in the order they go (pure: no clock, no sleep).

    The most urgent waiting call goes first. Among calls of one priority, turn keys take
    turns: every key with such calls waiting gets one per round, and a key's own calls go
    first come, first served. Low priority still goes whenever nothing more urgent waits."""

    def __init__(self) -> None:
        # priority -> turn key (in the order keys came) -> that key's calls, oldest first
        self._waiting: dict[Priority, dict[str, deque[Ticket]]] = {}
        self._served: dict[Priority, set[str]] = {}  # keys that had their turn this round
        self._coalesced: dict[str, Ticket] = {}

    def __len__(self) -> int:
        return sum(len(calls) for keys in self._waiting.values() for calls in keys.values())

    def add(
        self,
        granted: asyncio.Future[bool],
        priority: Priority = Priority.NORMAL,
        turn: str = "",
        coalesce: str | None = None,
    ) -> Ticket:
        """Queue a call; a waiting call with the same `coalesce` key is told False and this
        one takes its place (at the more urgent of the two priorities)."""
        older = self._coalesced.get(coalesce) if coalesce is not None else None
        if older is not None:
            superseded = older.granted
            older.granted = granted
            if priority < older.priority:
                self._remove(older)
                older.priority = priority
                self._insert(older)
            superseded.set_result(False)
            return older
        ticket = Ticket(priority, turn, coalesce, granted)
        self._insert(ticket)
        return ticket

    def discard(self, ticket: Ticket, granted: asyncio.Future[bool]) -> None:
        """Take out the call waiting on `granted` (its caller gave up)."""
        calls = self._waiting.get(ticket.priority, {}).get(ticket.turn, ())
        if ticket.granted is granted and ticket in calls:
            self._remove(ticket)

    def went(self, turn: str, priority: Priority) -> None:
        """A call went without waiting (nothing was): that was `turn`'s turn this round."""
        if not self._waiting:
            self._served.clear()
        self._served.setdefault(priority, set()).add(turn)

    def pop(self) -> Ticket | None:
        """The call that goes next, taken out of the queue; None if none waits."""
        if not self._waiting:
            return None
        priority = min(self._waiting)
        keys = self._waiting[priority]
        served = self._served.setdefault(priority, set())
        turn = next((key for key in keys if key not in served), None)
        if turn is None:  # every key waiting had its turn: a new round
            served.clear()
            turn = next(iter(keys))
        ticket = keys[turn][0]
        self._remove(ticket)
        served.add(turn)
        return ticket

    def _insert(self, ticket: Ticket) -> None:
        keys = self._waiting.setdefault(ticket.priority, {})
        keys.setdefault(ticket.turn, deque()).append(ticket)
        if ticket.coalesce is not None:
            self._coalesced[ticket.coalesce] = ticket

    def _remove(self, ticket: Ticket) -> None:
        keys = self._waiting[ticket.priority]
        keys[ticket.turn].remove(ticket)
        if not keys[ticket.turn]:
            del keys[ticket.turn]
            if not keys:
                del self._waiting[ticket.priority]
        if ticket.coalesce is not None and self._coalesced.get(ticket.coalesce) is ticket:
            del self._coalesced[ticket.coalesce]


@dataclass
class PacedLimit:
    """The waiting calls of one limit, each given a token in the order `Turns` says, as the
    bucket hands tokens out (`bot.coordination.buckets`: this process's `MemoryBuckets`, or
    with replicas the workspace's bucket in Redis, since Slack counts a workspace's calls
    whatever process makes them). A token taken for a call that then does not go is not
    given back (it refills within a second or two)."""

    buckets: RateBuckets
    scope: str
    rate: Rate
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _turns: Turns = field(init=False, default_factory=Turns)
    _pump: asyncio.Task[None] | None = field(init=False, default=None)

    async def _take(self) -> float:
        """Take a token (0.0), or take nothing and say how many seconds until one is there."""
        return await self.buckets.take(self.scope, self.rate)

    @property
    def waiting(self) -> int:
        """Calls waiting for a token."""
        return len(self._turns)

    @property
    def idle(self) -> bool:
        """Nobody waits and nothing hands tokens out: forgetting it loses nothing."""
        return not self._turns and (self._pump is None or self._pump.done())

    async def acquire(
        self,
        priority: Priority = Priority.NORMAL,
        turn: str = "",
        coalesce: str | None = None,
    ) -> bool:
        """Take one token; True when the call may go now, False when a newer call with the
        same `coalesce` key took its place (then skip the call: the newer one does it)."""
        if not self._turns and await self._take() == 0.0:
            self._turns.went(turn, priority)
            return True
        granted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        ticket = self._turns.add(granted, priority, turn, coalesce)
        if self._pump is None or self._pump.done() or self._pump.cancelling():
            # Held here; it ends by itself when nobody waits (and is cancelled if all leave).
            # A pump being cancelled is as good as gone: a shutting-down loop cancels every
            # task, and a run's clean-up (its last note) then asks for a token while the old
            # pump has not yet ended; waiting on that pump would wait for ever.
            self._pump = asyncio.create_task(self._hand_out(), name="slack-pacer")
        try:
            return await granted
        except asyncio.CancelledError:
            self._turns.discard(ticket, granted)
            if not self._turns and self._pump is not None:
                self._pump.cancel()
            raise

    async def _hand_out(self) -> None:
        """Give each token, as it refills, to the call `Turns` says goes next."""
        while self._turns:
            wait = await self._take()
            if wait > 0:
                await self.sleep(wait)
                continue
            ticket = self._turns.pop()
            if ticket is not None and not ticket.granted.done():
                ticket.granted.set_result(True)


@dataclass(frozen=True)
class Limit:
    """A rate in calls per second with a burst allowance."""

    per_second: float
    burst: float


# chat.postMessage: about 1/s per channel, short bursts tolerated.
# chat.update: Tier 3 (50+/min per workspace); chat.postEphemeral: Tier 4 (100+/min);
# conversations.replies: Tier 3. We stay a little under each.
DEFAULT_LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(per_second=1.0, burst=3),
    "chat.update": Limit(per_second=45 / 60, burst=10),
    "chat.postEphemeral": Limit(per_second=90 / 60, burst=10),
    "conversations.replies": Limit(per_second=45 / 60, burst=10),
    # Slack's native stream (DMs): chat.startStream and chat.stopStream Tier 2 (20+/min),
    # chat.appendStream Tier 4, as their reference pages say; the assistant-thread methods
    # have "special" limits, paced like Tier 4.
    "chat.startStream": Limit(per_second=18 / 60, burst=4),
    "chat.appendStream": Limit(per_second=90 / 60, burst=10),
    "chat.stopStream": Limit(per_second=18 / 60, burst=4),
    "assistant.threads.setStatus": Limit(per_second=90 / 60, burst=10),
    "assistant.threads.setSuggestedPrompts": Limit(per_second=90 / 60, burst=10),
    "assistant.threads.setTitle": Limit(per_second=90 / 60, burst=10),
    # agents.sessions.setStatus: Tier 3 (its reference page).
    "agents.sessions.setStatus": Limit(per_second=45 / 60, burst=10),
    # Reports (their reference pages): canvases.create Tier 2 (20+/min), canvases.edit and
    # canvases.access.set Tier 3, files.getUploadURLExternal and .completeUploadExternal Tier 4.
    "canvases.create": Limit(per_second=18 / 60, burst=4),
    "canvases.edit": Limit(per_second=45 / 60, burst=10),
    "canvases.access.set": Limit(per_second=45 / 60, burst=10),
    "canvases.delete": Limit(per_second=45 / 60, burst=10),  # Tier 3
    "files.getUploadURLExternal": Limit(per_second=90 / 60, burst=10),
    "files.completeUploadExternal": Limit(per_second=90 / 60, burst=10),
}
PER_CHANNEL = frozenset({"chat.postMessage"})


class Pacer:
    """One token bucket per rate-limited scope (method, and channel where Slack counts so),
    from `shared` buckets: `bot.coordination.buckets` is the one token bucket, this
    process's own (`MemoryBuckets`, the default) or with replicas the workspace's in Redis,
    so that the replicas together stay under each limit; priorities and turns stay per
    process (each orders its own waiting calls).

    Slack counts its limits per workspace (per app per workspace, its rate-limit docs), so
    installed in many workspaces each workspace being served (`bot.slack.tenancy`) has
    buckets of its own: one workspace's busy channel never slows another's calls."""

    def __init__(
        self,
        limits: dict[str, Limit] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        shared: RateBuckets | None = None,
        team: str = "",
    ) -> None:
        self._limits = DEFAULT_LIMITS if limits is None else limits
        self._sleep = sleep
        self._shared = shared if shared is not None else MemoryBuckets(clock)
        self._team = team
        self._buckets: dict[tuple[str, str, str], PacedLimit] = {}
        self._prune_at = PRUNE_AT

    async def wait(
        self,
        method: str,
        channel: str,
        *,
        priority: Priority = Priority.NORMAL,
        turn: str = "",
        coalesce: str | None = None,
    ) -> bool:
        """Wait until a call to `method` in `channel` fits under the limit (see `Turns` for
        who goes first). False: a newer call with the same `coalesce` key took its place."""
        limit = self._limits.get(method)
        if limit is None:
            return True
        key = self._scope(method, channel)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune()
            bucket = self._bucket(key[0], method, key[2], limit)
            self._buckets[key] = bucket
        return await bucket.acquire(priority, turn, coalesce)

    def _prune(self) -> None:
        """Forget the limits nobody waits under (their tokens live in the shared buckets, so
        a new one is the same limit): one per channel the app ever wrote in otherwise stays
        for the life of the process. Amortized: run when the count doubled."""
        self._buckets = {key: kept for key, kept in self._buckets.items() if not kept.idle}
        self._prune_at = max(PRUNE_AT, 2 * len(self._buckets))

    def _bucket(self, team: str, method: str, channel: str, limit: Limit) -> PacedLimit:
        scope = slack_scope(team, method, channel or None)
        return PacedLimit(self._shared, scope, Rate(limit.per_second, limit.burst), self._sleep)

    def waiting(self, method: str, channel: str) -> int:
        """How many calls wait under the limit of `method` in `channel` (for tests, bench)."""
        bucket = self._buckets.get(self._scope(method, channel))
        return 0 if bucket is None else bucket.waiting

    def _scope(self, method: str, channel: str) -> tuple[str, str, str]:
        team = self._team or tenancy.workspace_key()
        return (team, method, channel if method in PER_CHANNEL else "")
