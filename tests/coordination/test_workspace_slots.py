"""Replicas installed in many workspaces (real Redis): each workspace has its own live-run
slots, queue and persons, and the counts are rebuilt under each workspace's keys."""

from __future__ import annotations

from dataclasses import dataclass

from bot.coordination.counts import RunCounts
from bot.coordination.persons import RedisPersonRuns
from bot.coordination.slots import RedisSlots
from tests.coordination.conftest import LinkFactory


async def test_a_full_workspace_never_queues_another(new_link: LinkFactory) -> None:
    slots = RedisSlots(new_link())
    assert (await slots.take("t1-a", "T1/U1", 1, workspace="T1")).started
    assert not (await slots.take("t1-b", "T1/U1", 1, workspace="T1")).started
    found = await slots.take("t2-a", "T2/U1", 1, workspace="T2")
    assert found.started  # T1's queue is T1's alone
    await slots.give_back("t2-a", workspace="T2")
    assert not (await slots.take("t1-b", "T1/U1", 1, workspace="T1")).started  # still T1's a
    await slots.give_back("t1-a", workspace="T1")
    assert (await slots.take("t1-b", "T1/U1", 1, workspace="T1")).started


@dataclass(frozen=True)
class _Run:
    run_id: str
    requester: str
    holds_slot: bool
    age_s: float
    workspace: str


class _Store:
    async def counted_runs(self) -> list[_Run]:
        return [_Run("t1-live", "U1", True, 5.0, "T1"), _Run("t2-live", "U1", True, 5.0, "T2")]


async def test_lost_counts_come_back_per_workspace(new_link: LinkFactory) -> None:
    link = new_link()
    counts = RunCounts(link, _Store(), slot_held_s=30, person_counted_s=3600, per_workspace=True)
    slots = RedisSlots(link, counts=counts)
    persons = RedisPersonRuns(link, counts=counts)
    # Redis lost everything: the first ask rebuilds T1's and T2's slots and persons apart.
    assert not (await slots.take("t1-new", "T1/U2", 1, workspace="T1")).started
    assert not (await slots.take("t2-new", "T2/U2", 1, workspace="T2")).started
    assert not await persons.join("T1/U1", "t1-second", 1)  # U1 has one in T1 ...
    assert await persons.join("T1/U3", "t1-third", 1)
    assert not await persons.join("T2/U1", "t2-second", 1)  # ... and one in T2
