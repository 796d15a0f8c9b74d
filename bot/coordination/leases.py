"""Leases with fencing tokens: which replica owns a live run, and refusing a former owner.

A replica acquires a run's lease for `ORCHESTRA_LEASE_S` and renews it while the run goes
on; if the replica dies, the lease expires and another replica may acquire it (take the run
over). Each acquisition gets a fencing token larger than any before it (one Redis counter,
INCR), and acquiring also raises the resource's fence to that token: from then on a write
under an older token is refused, even if its holder (paused, partitioned) still believes it
owns the run. Expiry alone cannot give that: a paused process does not know its lease ran
out (Kleppmann, "How to do distributed locking", 2016).

`fence(lease)` is the check a writer makes just before writing; a store that can compare
itself (the runs table's `fencing_token`, in one UPDATE ... WHERE) makes the check and the
write one step."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.coordination.link import RedisLink

# KEYS: lease, fencing counter, fence. ARGV: owner, ttl in ms. The token, or 0 when held.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], token, 'PX', ARGV[3])
return token
"""
# KEYS: lease. ARGV: the lease's value, ttl in ms. 1 when still ours (and extended).
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS: lease. ARGV: the lease's value. 1 when it was ours (and is gone).
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
# KEYS: fence. ARGV: token. 1 unless a newer lease of the resource exists.
_FENCE = """
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < newest then return 0 end
return 1
"""

# How long a resource's fence is remembered after its last acquisition: far beyond any run
# (a run that outlives it would let a writer from before that long pause write again).
FENCE_MEMORY_S = 7 * 24 * 60 * 60


@dataclass(frozen=True)
class Lease:
    """A held lease: `owner` holds `resource` under fencing token `token`."""

    resource: str
    owner: str
    token: int

    @property
    def value(self) -> str:
        """What the lease key holds while this lease is current."""
        return f"{self.token}|{self.owner}"


class Leases(Protocol):
    """Leases on resources (a run: `run:<run_id>`), with fencing tokens."""

    async def acquire(self, resource: str, owner: str, ttl_s: float) -> Lease | None:
        """A new lease of `resource` for `owner`, valid `ttl_s`; None while another is held
        (an expired lease is not held: acquiring then is the takeover)."""
        ...

    async def renew(self, lease: Lease, ttl_s: float) -> bool:
        """Extend `lease` by `ttl_s` from now; False if it expired or another replaced it."""
        ...

    async def release(self, lease: Lease) -> bool:
        """Give `lease` up (a run ended); False if it was no longer current."""
        ...

    async def fence(self, lease: Lease) -> bool:
        """Whether a write under `lease` may go: False once a newer lease of its resource
        was acquired (an expired lease with no successor may still write)."""
        ...


class MemoryLeases:
    """One process's leases (the same rules as in Redis; time from `clock`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[Lease, float]] = {}  # resource -> (lease, until)
        self._newest: dict[str, int] = {}
        self._counter = 0

    def _current(self, resource: str) -> Lease | None:
        held = self._held.get(resource)
        if held is None or held[1] <= self._clock():
            return None
        return held[0]

    async def acquire(self, resource: str, owner: str, ttl_s: float) -> Lease | None:
        """See `Leases.acquire`."""
        if self._current(resource) is not None:
            return None
        self._counter += 1
        lease = Lease(resource, owner, self._counter)
        self._held[resource] = (lease, self._clock() + ttl_s)
        self._newest[resource] = lease.token
        return lease

    async def renew(self, lease: Lease, ttl_s: float) -> bool:
        """See `Leases.renew`."""
        if self._current(lease.resource) != lease:
            return False
        self._held[lease.resource] = (lease, self._clock() + ttl_s)
        return True

    async def release(self, lease: Lease) -> bool:
        """See `Leases.release`."""
        if self._current(lease.resource) != lease:
            return False
        del self._held[lease.resource]
        return True

    async def fence(self, lease: Lease) -> bool:
        """See `Leases.fence`."""
        return lease.token >= self._newest.get(lease.resource, 0)


class RedisLeases:
    """Leases in Redis, shared by every replica. Failures raise `RedisDown`: an owner that
    cannot renew must treat its lease as lost when it expires, never assume it kept it."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        client = link.client
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._fence = client.register_script(_FENCE)

    def _keys(self, resource: str) -> tuple[str, str, str]:
        link = self._link
        return link.key("lease", resource), link.key("fencing"), link.key("fence", resource)

    async def acquire(self, resource: str, owner: str, ttl_s: float) -> Lease | None:
        """See `Leases.acquire`."""
        args: list[str | int] = [owner, _ms(ttl_s), _ms(FENCE_MEMORY_S)]
        keys = list(self._keys(resource))
        token = await self._link.run(lambda _: self._acquire(keys=keys, args=args))
        return Lease(resource, owner, int(token)) if int(token) else None

    async def renew(self, lease: Lease, ttl_s: float) -> bool:
        """See `Leases.renew`."""
        keys = [self._keys(lease.resource)[0]]
        done = await self._link.run(
            lambda _: self._renew(keys=keys, args=[lease.value, _ms(ttl_s)])
        )
        return bool(int(done))

    async def release(self, lease: Lease) -> bool:
        """See `Leases.release`."""
        keys = [self._keys(lease.resource)[0]]
        done = await self._link.run(lambda _: self._release(keys=keys, args=[lease.value]))
        return bool(int(done))

    async def fence(self, lease: Lease) -> bool:
        """See `Leases.fence`."""
        keys = [self._keys(lease.resource)[2]]
        ok = await self._link.run(lambda _: self._fence(keys=keys, args=[lease.token]))
        return bool(int(ok))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
