"""Admission control: the slot cap, the per-person cap, round robin, cancel while queued."""

from __future__ import annotations

import asyncio

from bot.runs.admission import Admission


async def _hold(admission: Admission, run_id: str, started: list[str], gate: asyncio.Event) -> None:
    async with admission.slot(run_id, lambda ahead: None) as turn:
        await turn()
        started.append(run_id)
        await gate.wait()


def test_a_person_is_capped_at_the_moment_of_asking() -> None:
    admission = Admission(max_live=5, max_per_user=2)
    assert admission.register("a1", "A")
    assert admission.register("a2", "A")
    assert not admission.register("a3", "A")
    assert admission.register("b1", "B")
    admission.release("a1")
    assert admission.register("a3", "A")
    assert admission.register("a4", "A", over_limit=True)  # resumed: accepted before


async def test_no_more_than_max_live_run_and_the_queue_is_served_round_robin() -> None:
    admission = Admission(max_live=2, max_per_user=10)
    order = ["a1", "a2", "a3", "a4", "b1", "c1"]  # A asked four times first
    for run_id in order:
        admission.register(run_id, run_id[0].upper())
    started: list[str] = []
    gates = {run_id: asyncio.Event() for run_id in order}
    tasks = [asyncio.create_task(_hold(admission, r, started, gates[r])) for r in order]
    await asyncio.sleep(0)
    assert started == ["a1", "a2"]
    assert admission.waiting_count == 4
    for done in ("a1", "a2", "a3", "b1"):
        gates[done].set()
        await asyncio.sleep(0.01)
        assert admission.holding <= 2
    # B and C did not wait behind A's runs: whoever was served longest ago (B and C never)
    # goes next, as the workspace's queue in Redis orders it (one fair queue, issue 21.4).
    assert started[:5] == ["a1", "a2", "b1", "c1", "a3"]
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*tasks)
    assert started[-1] == "a4"


async def test_waiting_runs_are_told_how_many_are_ahead_as_the_queue_moves() -> None:
    admission = Admission(max_live=1, max_per_user=10)
    seen: dict[str, list[int]] = {"b": [], "c": []}
    gate = asyncio.Event()
    first = asyncio.create_task(_hold(admission, "a", [], gate))
    await asyncio.sleep(0)

    async def wait(run_id: str) -> None:
        async with admission.slot(run_id, seen[run_id].append) as turn:
            await turn()

    waiting = [asyncio.create_task(wait("b")), asyncio.create_task(wait("c"))]
    await asyncio.sleep(0)
    assert seen["b"][-1] == 0
    assert seen["c"][-1] == 1
    gate.set()
    await asyncio.gather(first, *waiting)
    assert seen["c"][-1] == 0


async def test_cancelling_a_queued_run_takes_it_out_of_the_queue() -> None:
    admission = Admission(max_live=1, max_per_user=10)
    gate = asyncio.Event()
    started: list[str] = []
    first = asyncio.create_task(_hold(admission, "a", started, gate))
    await asyncio.sleep(0)
    queued = asyncio.create_task(_hold(admission, "b", started, asyncio.Event()))
    last = asyncio.create_task(_hold(admission, "c", started, asyncio.Event()))
    await asyncio.sleep(0)
    queued.cancel()
    await asyncio.gather(queued, return_exceptions=True)
    assert admission.waiting_count == 1
    gate.set()
    await asyncio.sleep(0.01)
    assert started == ["a", "c"]
    last.cancel()
    await asyncio.gather(first, last, return_exceptions=True)
