"""A run taken over by another replica continues its trace (issue 25.1): two `python -m bot`
processes on one PostgreSQL run store and one real Redis export OTLP/HTTP to one receiver on
loopback; the run's owner is SIGKILLed mid-run and the other replica, once the lease has
lapsed, opens the attempt's new root span in the trace id the run store keeps.

Metrics are exported every 10 minutes here: those that arrive came with the SIGTERM's flush."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.render.notes import TAKEN_OVER, resumed
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.coordination.cluster import Cluster, cluster, mentioned
from tests.e2e.conftest import eventually, fake_claude, fake_slack, thread_text
from tests.faults.otlp_receiver import Receiver, otlp_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

GOAL = "compare quokka tides"


def aspect(call: CallInfo) -> int:
    """Which of the default plan's three subtasks a subagent call is for."""
    return next(n for n in (1, 2, 3) if f"aspect {n}" in call.system_text)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with otlp_receiver() as received:
        yield received


@pytest.fixture
async def replicas(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    receiver: Receiver,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Two replicas (2 s leases), both exporting to `receiver`."""
    async with cluster(
        fake_slack,
        fake_claude,
        database_url=postgres_url,
        redis_url=redis_db_url,
        logs=tmp_path,
        replicas=2,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_METRIC_EXPORT_INTERVAL="600000",
    ) as started:
        yield started
    for replica in started.replicas:
        assert "Traceback" not in replica.log(), replica.log()[-3000:]


async def test_a_run_taken_over_by_another_replica_after_a_sigkill_continues_its_trace(
    replicas: Cluster, fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver
) -> None:
    # Subtasks 1 and 2 finish at once; subtask 3 is still under way when its replica dies.
    slow = {"on": True}
    fake_claude.respond(
        "subagent",
        lambda call: Reply(
            text=f"Result {aspect(call)}.", latency=60 if slow["on"] and aspect(call) == 3 else 0
        ),
    )
    victim, heir = replicas.replicas
    ts, body, kind = mentioned(fake_slack, "C1", f"<@UBOT> {GOAL}", "U1", "Ev1")
    assert await victim.post(body, kind, http=replicas.http) == 200

    async def two_done() -> bool:
        runs = await replicas.runs()
        return len(runs) == 1 and sum(s.state == "done" for s in runs[0].subtasks) == 2

    async with asyncio.timeout(30):
        while not await two_done():  # noqa: ASYNC110 - another process's state
            await asyncio.sleep(0.05)
    # The plan's call and both finished subagents' calls have reached the receiver.
    await eventually(lambda: len(receiver.named("chat ")) >= 3, within=10)
    [run] = await replicas.runs()
    assert victim.owns(run)
    assert run.trace_id is not None
    assert {s.trace_id for s in receiver.spans} == {run.trace_id}  # the stored trace

    victim.signal(signal.SIGKILL)
    assert victim.process is not None
    await victim.process.wait()
    slow["on"] = False
    assert not receiver.roots()  # the killed attempt's root span is lost with it

    # The heir takes the run over once the victim's lease lapses, and answers it.
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", ts)), 30)
    await eventually(lambda: len(receiver.roots()) == 1, within=10)
    await replicas.idle([heir])
    [run] = await replicas.runs()
    assert run.status == "succeeded"
    assert heir.owns(run)
    assert resumed(2, 3, why=TAKEN_OVER) in thread_text(fake_slack.thread("C1", ts))

    (root,) = receiver.roots()
    assert root.trace_id == run.trace_id  # the heir's root span joins the stored trace
    assert root.parent_id == ""  # a new root: the victim's was never exported
    assert root.attributes["orchestra.run.resumed"] is True
    assert root.attributes["orchestra.run.id"] == run.run_id
    assert root.attributes["orchestra.run.outcome"] == "succeeded"
    assert {s.trace_id for s in receiver.spans} == {run.trace_id}  # nothing outside it
    # The heir ran subtask 3, the integrator and the follow-ups only (1 and 2 were done).
    stages = [s for s in receiver.named("invoke_agent ") if s.parent_id == root.span_id]
    names = sorted(s.attributes["gen_ai.agent.name"] for s in stages)
    assert names == ["follow_ups", "integrator", "subagent"]

    heir.signal(signal.SIGTERM)  # its metrics leave with the SIGTERM's flush
    assert heir.process is not None
    assert await asyncio.wait_for(heir.process.wait(), 30) == 0
    assert receiver.total("orchestra.takeovers") == 1
    assert sum(p.as_int for p in receiver.metrics["orchestra.runs"]) == 1
