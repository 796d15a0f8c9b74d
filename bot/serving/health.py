"""GET /healthz: whether this process can serve, dependency by dependency.

200 when every dependency answers; 503 naming each one that does not (and while the process
is stopping), so that a load balancer or an operator sees which one. Each dependency gets a
bounded time: the Docker health probe gives the whole request 3 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.coordination import RedisDown, RedisLink
from bot.slack.auth import SlackAuth
from bot.store import StoreDown

CHECK_TIMEOUT_S = 2.0
# /healthz needs no signature: anyone who can reach it could otherwise make every request a
# database query. One check at a time, its answer reused this long.
REUSE_S = 1.0

# Raises when its dependency is not fine.
Probe = Callable[[], Awaitable[object]]


class Down(Exception):
    """A probe's own finding that its dependency is not fine; its message is the state
    /healthz shows (a few fixed words, never a secret)."""


class RunLookup(Protocol):
    """The run store's cheapest read."""

    async def get_run(self, run_id: str) -> object:
        """A stored run, or None."""
        ...


@dataclass(frozen=True)
class Health:
    """Each dependency's state: "ok" or, in a few fixed words, why not."""

    checks: Mapping[str, str]

    @property
    def failing(self) -> list[str]:
        """The dependencies that are not fine."""
        return [name for name, state in self.checks.items() if state != "ok"]


def token_probe(auth: SlackAuth) -> Probe:
    """For /healthz: down while Slack refuses the bot token (what the app's calls learned)."""

    async def slack() -> None:
        if auth.refused is not None:
            raise Down(f"refused the bot token ({auth.refused})")

    return slack


def probes(
    store: RunLookup, redis: RedisLink | None, slack: Probe | None = None
) -> dict[str, Probe]:
    """What /healthz checks: the run store, Redis when configured, and whether Slack still
    accepts the bot token (`bot.slack.auth`: no call, what the app's calls learned)."""

    async def database() -> None:
        # A primary-key lookup of a run that never exists: the cheapest read the store has.
        await store.get_run("healthz")

    checks: dict[str, Probe] = {"database": database}
    if redis is not None:
        checks["redis"] = redis.ping
    if slack is not None:
        checks["slack"] = slack
    return checks


async def check(probes: Mapping[str, Probe], timeout_s: float = CHECK_TIMEOUT_S) -> Health:
    """Run every probe at once, each within `timeout_s`."""

    async def state(probe: Probe) -> str:
        try:
            async with asyncio.timeout(timeout_s):
                await probe()
        except TimeoutError:
            return f"no answer within {timeout_s:g} s"
        except Down as down:
            return str(down)
        except (RedisDown, StoreDown, OSError) as exc:
            # The type only: a driver's message can carry a host name or a user.
            wrapped = isinstance(exc, RedisDown | StoreDown)
            cause = exc.__cause__ if wrapped and exc.__cause__ else exc
            return f"unreachable ({type(cause).__name__})"
        return "ok"

    states = await asyncio.gather(*(state(probe) for probe in probes.values()))
    return Health(dict(zip(probes, states, strict=True)))


class HealthCheck:
    """`check` of fixed probes, one at a time, its answer reused for `reuse_s`."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        reuse_s: float = REUSE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = probes
        self._reuse_s = reuse_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last: tuple[float, Health] | None = None

    async def current(self) -> Health:
        """The latest answer if recent enough, else a new one (concurrent callers share it)."""
        async with self._lock:
            if self._last is None or self._clock() - self._last[0] >= self._reuse_s:
                self._last = (self._clock(), await check(self._probes))
            return self._last[1]
