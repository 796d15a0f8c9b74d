"""A person's runs are counted across replicas: ORCHESTRA_MAX_RUNS_PER_USER holds for the
workspace, not per process."""

from __future__ import annotations

import asyncio

import pytest

from bot.coordination.persons import RedisPersonRuns
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.coordination.conftest import LinkFactory
from tests.coordination.test_replicas import (  # noqa: F401
    fake_claude,
    fake_slack,
    pair,
)
from tests.e2e.conftest import eventually


async def test_joins_from_two_replicas_at_once_never_pass_the_cap(new_link: LinkFactory) -> None:
    a, b = RedisPersonRuns(new_link()), RedisPersonRuns(new_link())
    joined = await asyncio.gather(
        *((a if i % 2 else b).join("U1", f"r{i}", cap=3) for i in range(50))
    )
    assert sum(joined) == 3
    assert await a.join("U2", "other", cap=3)  # another person is not affected


async def test_a_run_that_leaves_frees_its_persons_slot(new_link: LinkFactory) -> None:
    persons = RedisPersonRuns(new_link())
    assert await persons.join("U1", "r1", cap=1)
    assert await persons.join("U1", "r1", cap=1)  # the same run again: still in
    assert not await persons.join("U1", "r2", cap=1)
    await persons.leave("U1", "r1")
    assert await persons.join("U1", "r2", cap=1)


async def test_a_run_never_finished_stops_counting_after_its_time(new_link: LinkFactory) -> None:
    persons = RedisPersonRuns(new_link(), counted_for_s=1)
    assert await persons.join("U1", "r1", cap=1)
    await asyncio.sleep(2.1)  # Redis's clock, in whole seconds: past the score for sure
    assert await persons.join("U1", "r2", cap=1)


@pytest.mark.slow
async def test_a_person_past_the_cap_across_replicas_is_refused_privately(
    pair: tuple[World, World],  # noqa: F811
    fake_slack: FakeSlack,  # noqa: F811
    fake_claude: FakeAnthropic,  # noqa: F811
) -> None:
    a, b = pair  # each replica allows 5 runs a person; two replicas must not allow 10
    fake_claude.respond("subagent", lambda call: Reply(text="slow", latency=20))
    for i in range(6):
        await (a if i % 2 else b).command(f"question {i}", user="U9", channel=f"C{i}")
    await eventually(lambda: any("the limit per person" in str(r) for r in fake_slack.responses))

    def started() -> list[int]:
        return [c for c in range(6) if fake_slack.channel_messages(f"C{c}")]

    await eventually(lambda: len(started()) >= 5)
    await asyncio.sleep(0.5)  # a sixth run would have posted its root by now
    assert len(started()) == 5
    for world in pair:
        for run in world.deps.runs.running:
            world.deps.runs.cancel(run.run_id, by="U9")
