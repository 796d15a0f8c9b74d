"""/healthz's checks: each dependency by name, bounded in time, one check at a time."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import OperationalError

from bot.serving import health
from bot.store import StoreDown


class Store:
    """The store's one read that /healthz makes, answering or failing as told."""

    def __init__(self, error: Exception | None = None, delay: float = 0.0) -> None:
        self.error = error
        self.delay = delay
        self.reads = 0

    async def get_run(self, run_id: str) -> None:
        self.reads += 1
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error


async def test_a_fine_store_is_ok_and_redis_is_checked_only_when_configured() -> None:
    probes = health.probes(Store(), None)
    assert list(probes) == ["database"]
    assert (await health.check(probes)).checks == {"database": "ok"}


async def test_a_failing_store_is_named_by_the_kind_of_failure_only() -> None:
    cause = OperationalError("SELECT", {}, OSError("password authentication failed for bob"))
    error = StoreDown("the run store did not answer")  # as the store raises it
    error.__cause__ = cause
    state = await health.check(health.probes(Store(error), None))
    assert state.failing == ["database"]
    assert state.checks["database"] == "unreachable (OperationalError)"
    assert "bob" not in str(state.checks)


async def test_a_store_that_hangs_is_named_within_the_timeout() -> None:
    state = await health.check(health.probes(Store(delay=5), None), timeout_s=0.05)
    assert state.checks["database"] == "no answer within 0.05 s"


async def test_one_check_at_a_time_and_its_answer_reused_for_a_moment() -> None:
    store, now = Store(delay=0.01), [0.0]
    checks = health.HealthCheck(health.probes(store, None), reuse_s=1.0, clock=lambda: now[0])
    await asyncio.gather(*(checks.current() for _ in range(20)))
    assert store.reads == 1
    now[0] = 1.0
    await checks.current()
    assert store.reads == 2
