"""The deadline with replicas (issue 22.1): two `python -m bot` processes on one PostgreSQL
run store and one real Redis. A run's owner is SIGKILLed about 5 s into a 10 s deadline with
a subagent hanging; the other replica takes the run over once the lease lapses and goes on
from the working time the store kept, so it cuts the hung subtask at the deadline about 5 s
later (not 10), answering from what was done. Continue, clicked on that replica by the
requester, runs only the cut subtask and posts an updated answer."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.render.messages import CONTINUE_ACTION
from sandbox.fakes import signing
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.coordination.cluster import LEASE_S, Cluster, cluster, mentioned
from tests.e2e.conftest import eventually, fake_claude, fake_slack, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

DEADLINE_S = 10.0
SPENT_S = 5.0


def aspect(call: CallInfo) -> int:
    """Which of the default plan's three subtasks a subagent call is for."""
    return next(n for n in (1, 2, 3) if f"aspect {n}" in call.system_text)


def aspects_called(claude: FakeAnthropic) -> list[int]:
    """Which aspect each subagent request was for, sorted."""
    calls = [str(c.body.get("system", "")) for c in claude.calls_for("subagent")]
    return sorted(n for system in calls for n in (1, 2, 3) if f"aspect {n}" in system)


@pytest.fixture
async def replicas(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Two replicas (2 s leases) with a 10 s deadline."""
    async with cluster(
        fake_slack,
        fake_claude,
        database_url=postgres_url,
        redis_url=redis_db_url,
        logs=tmp_path,
        replicas=2,
        ORCHESTRA_RUN_DEADLINE_S=str(DEADLINE_S),
    ) as started:
        yield started
    for replica in started.replicas:
        assert "Traceback" not in replica.log(), replica.log()[-3000:]


async def test_a_run_taken_over_keeps_its_working_time_and_continue_runs_only_what_was_cut(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    hang = {"on": True}
    fake_claude.respond(
        "subagent",
        lambda call: Reply(
            text=f"Result {aspect(call)}.", latency=600 if hang["on"] and aspect(call) == 3 else 0
        ),
    )
    victim, heir = replicas.replicas
    ts, body, kind = mentioned(fake_slack, "C1", "<@UBOT> compare tides", "U1", "Ev1")
    assert await victim.post(body, kind, http=replicas.http) == 200

    async def spent() -> float:
        runs = await replicas.runs()
        return runs[0].work_s if runs else 0.0

    async with asyncio.timeout(DEADLINE_S):
        while await spent() < SPENT_S - 1:  # noqa: ASYNC110 - another process's state
            await asyncio.sleep(0.1)
    victim.signal(signal.SIGKILL)
    assert victim.process is not None
    await victim.process.wait()
    killed = time.monotonic()
    kept = await spent()

    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", ts)), 30)
    took = time.monotonic() - killed
    # A fresh deadline would answer LEASE_S + 10 s after the kill at the earliest.
    assert took < LEASE_S * 1.5 + DEADLINE_S - kept + 2, f"{took:.1f}s, {kept:.1f}s kept"
    await replicas.idle([heir])
    [run] = await replicas.runs()
    assert heir.owns(run)
    assert run.work_s >= DEADLINE_S  # both replicas' time, the whole deadline
    assert "cut at the deadline" in thread_text(fake_slack.thread("C1", ts))
    assert len(fake_claude.calls_for("integrator")) == 1
    assert run.plan_ts is not None

    hang["on"] = False
    click, form = signing.block_action(
        action_id=CONTINUE_ACTION,
        value=run.run_id,
        user="U1",
        channel="C1",
        message_ts=run.plan_ts,
        thread_ts=ts,
        response_url=fake_slack.response_url,
    )
    assert await heir.post(click, form, http=replicas.http) == 200
    await eventually(lambda: len(fake_claude.calls_for("integrator")) == 2, 20)
    await eventually(lambda: thread_text(fake_slack.thread("C1", ts)).count("tokens in") == 2, 10)
    # s1 and s2 once (done before the kill), s3 twice before (hung, then taken over) and once
    # for Continue.
    assert aspects_called(fake_claude) == [1, 2, 3, 3, 3]
    assert len(fake_claude.calls_for("orchestrator")) == 1
