"""What replicas of one workspace share, each behind a small protocol with two
implementations: in this process's memory (one process: `ORCHESTRA_REDIS_URL` unset, the
default) and in Redis (several replicas).

One job per module: `dedupe` (a Slack delivery starts one run), `replay` (a signed request
is accepted once), `cancel` (a Cancel reaches the replica that owns the run), `buckets`
(Slack rate limits as shared token buckets), `leases` (run ownership with fencing tokens);
`link` is the Redis connection they share. docs/reliability.md says why Redis and what
happens while it is unreachable."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.coordination.buckets import MemoryBuckets, Rate, RateBuckets, RedisBuckets, slack_scope
from bot.coordination.cancel import CancelBus, LocalCancelBus, RedisCancelBus
from bot.coordination.counts import CountSource, RunCounts
from bot.coordination.dedupe import Claim, DeliveryClaims, DeliveryLedger, LocalClaims, RedisClaims
from bot.coordination.leases import Lease, Leases, MemoryLeases, RedisLeases
from bot.coordination.link import RedisDown, RedisLink
from bot.coordination.persons import COUNTED_FOR_S as PERSON_COUNTED_FOR_S
from bot.coordination.persons import LocalPersonRuns, PersonRuns, RedisPersonRuns
from bot.coordination.replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from bot.coordination.slots import HELD_FOR_S as SLOT_HELD_FOR_S
from bot.coordination.slots import RedisSlots, SharedSlots

__all__ = [
    "CancelBus",
    "Claim",
    "Coordination",
    "DeliveryClaims",
    "DeliveryLedger",
    "Lease",
    "Leases",
    "PersonRuns",
    "Rate",
    "RateBuckets",
    "RedisDown",
    "RedisLink",
    "ReplayGuard",
    "SharedSlots",
    "local_coordination",
    "redis_coordination",
    "replica_id",
    "slack_scope",
]


def replica_id() -> str:
    """A name for this process among the replicas (host, pid, and a random part: a restarted
    container may get the same host name and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Coordination:
    """Every shared piece, built once at the composition root."""

    claims: DeliveryClaims
    replays: ReplayGuard
    cancels: CancelBus
    buckets: RateBuckets
    leases: Leases
    persons: PersonRuns = field(default_factory=LocalPersonRuns)
    # None: the live-run cap and queue are each process's. `RedisSlots` shares them; it is
    # not switched on yet (the takeover sweep must first count queued runs as held).
    slots: SharedSlots | None = None
    redis: RedisLink | None = None  # None: one process, nothing shared
    replica: str = field(default_factory=replica_id)

    @property
    def shared(self) -> bool:
        """Whether other replicas may hold runs and deliveries of this workspace."""
        return self.redis is not None

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self.redis is not None:
            await self.redis.close()


def local_coordination(
    ledger: DeliveryLedger, clock: Callable[[], float] = time.monotonic
) -> Coordination:
    """One process, coordinated in its own memory (deliveries also in the run store)."""
    return Coordination(
        claims=LocalClaims(ledger, clock),
        replays=MemoryReplayGuard(),
        cancels=LocalCancelBus(),
        buckets=MemoryBuckets(),
        leases=MemoryLeases(),
    )


def redis_coordination(
    link: RedisLink,
    ledger: DeliveryLedger,
    clock: Callable[[], float] = time.monotonic,
    *,
    replica: str | None = None,
    per_workspace: bool = False,
) -> Coordination:
    """Replicas sharing `link`'s Redis (and the run store behind `ledger`).

    The run store is also where the live-run and per-person counts are rebuilt from when
    Redis loses them (`bot.coordination.counts`); a ledger that keeps no runs (a test's)
    leaves them to start empty. `per_workspace` (installed in many workspaces): each
    workspace's counts are rebuilt under its own keys."""
    source = ledger if isinstance(ledger, CountSource) else None
    counts = RunCounts(
        link,
        source,
        slot_held_s=SLOT_HELD_FOR_S,
        person_counted_s=PERSON_COUNTED_FOR_S,
        per_workspace=per_workspace,
    )
    return Coordination(
        claims=RedisClaims(link, ledger, clock),
        replays=RedisReplayGuard(link),
        cancels=RedisCancelBus(link),
        buckets=RedisBuckets(link),
        leases=RedisLeases(link),
        persons=RedisPersonRuns(link, counts=counts),
        slots=RedisSlots(link, counts=counts),
        redis=link,
        replica=replica or replica_id(),
    )
