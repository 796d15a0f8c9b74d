"""The live-run cap and its queue across replicas (real Redis): never more than the cap
live in the workspace, served round robin by person, positions told, dead entries expire."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.coordination.slots import RedisSlots
from bot.runs.admission import Admission
from tests.coordination.conftest import LinkFactory


async def test_two_replicas_together_never_pass_the_cap(new_link: LinkFactory) -> None:
    slots = [RedisSlots(new_link()), RedisSlots(new_link())]
    replicas = [Admission(2, 10, slots=s, poll_s=0.05) for s in slots]
    live, peak, order = 0, 0, []

    async def run(i: int) -> None:
        nonlocal live, peak
        admission = replicas[i % 2]
        admission.register(f"r{i}", f"U{i % 3}")
        async with admission.slot(f"r{i}", lambda ahead: None) as turn:
            await turn()
            live += 1
            peak = max(peak, live)
            order.append(i)
            await asyncio.sleep(0.1)
            live -= 1
        admission.release(f"r{i}")

    await asyncio.gather(*(run(i) for i in range(8)))
    assert peak == 2
    assert sorted(order) == list(range(8))


async def test_the_queue_is_served_round_robin_by_person(new_link: LinkFactory) -> None:
    slots = RedisSlots(new_link())
    # One slot, held; then U1 queues three runs and U2 one: U2's comes second, not fourth.
    assert (await slots.take("hold", "U0", 1)).started
    for run, user in (("a1", "U1"), ("a2", "U1"), ("a3", "U1"), ("b1", "U2")):
        assert not (await slots.take(run, user, 1)).started
    positions = {
        run: (await slots.take(run, u, 1)).ahead
        for run, u in (("a1", "U1"), ("a2", "U1"), ("a3", "U1"), ("b1", "U2"))
    }
    assert positions == {"a1": 0, "b1": 1, "a2": 2, "a3": 3}
    await slots.give_back("hold")
    assert not (await slots.take("b1", "U2", 1)).started  # a1 is first
    assert (await slots.take("a1", "U1", 1)).started
    await slots.give_back("a1")
    # U1 was just served: U2's one run goes before U1's next.
    assert not (await slots.take("a2", "U1", 1)).started
    assert (await slots.take("b1", "U2", 1)).started


async def test_a_waiting_run_is_told_its_position_as_it_moves(new_link: LinkFactory) -> None:
    admission = Admission(1, 10, slots=RedisSlots(new_link()), poll_s=0.05)
    told: dict[str, list[int]] = {"first": [], "second": [], "third": []}
    gates = {name: asyncio.Event() for name in told}
    started: list[str] = []

    async def run(name: str) -> None:
        admission.register(name, f"U-{name}")
        async with admission.slot(name, told[name].append) as turn:
            await turn()
            started.append(name)
            await gates[name].wait()

    async def until(check: Callable[[], bool]) -> None:
        # Waits on what the runs were told, not a fixed time: a loaded machine (six test
        # workers on two cores) once took more than the 0.1 s this test used to allow.
        async with asyncio.timeout(5):
            while not check():  # noqa: ASYNC110 - the runs' own state, no one event
                await asyncio.sleep(0.01)

    tasks: list[asyncio.Task[None]] = []
    try:
        for name in told:  # joined in this order, each once the one before is placed
            tasks.append(asyncio.create_task(run(name)))
            await until(lambda name=name: name in started or bool(told[name]))  # type: ignore[misc]
        assert started == ["first"]
        assert told == {"first": [], "second": [0], "third": [1]}
        gates["first"].set()
        await until(lambda: started == ["first", "second"] and len(told["third"]) == 2)
        assert told["third"] == [1, 0]
        gates["second"].set()
        gates["third"].set()
        await asyncio.gather(*tasks)
        assert started == ["first", "second", "third"]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_dead_replicas_slot_frees_itself(new_link: LinkFactory) -> None:
    dead = RedisSlots(new_link(), held_for_s=1)
    alive = RedisSlots(new_link(), held_for_s=1)
    assert (await dead.take("lost", "U1", 1)).started
    assert not (await alive.take("next", "U2", 1)).started
    await asyncio.sleep(1.2)  # the dead replica never refreshed its run
    assert (await alive.take("next", "U2", 1)).started
