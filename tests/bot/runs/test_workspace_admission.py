"""Installed in many workspaces, each workspace counts its own: a person's cap, the live-run
cap and its queue are per workspace (`bot.slack.tenancy.workspace_key`), even for one user
id that Enterprise Grid shares between the workspaces of an org."""

from __future__ import annotations

import asyncio

from bot.runs.admission import Admission
from bot.slack import tenancy

T1 = tenancy.Tenant("T1", "E1", token="xoxb-1")
T2 = tenancy.Tenant("T2", "E1", token="xoxb-2")


def test_one_person_has_a_cap_in_each_workspace() -> None:
    admission = Admission(max_live=5, max_per_user=1)
    with tenancy.serving(T1):
        assert admission.register("t1-a", "U1")
        assert not admission.register("t1-b", "U1")  # at the cap in T1
        assert admission.runs_of("U1") == ["t1-a"]
    with tenancy.serving(T2):
        assert admission.register("t2-a", "U1")  # the same id, another workspace
        assert admission.runs_of("U1") == ["t2-a"]
    assert admission.register("single", "U1")  # single-workspace mode: its own count


async def _hold(
    admission: Admission,
    tenant: tenancy.Tenant,
    run_id: str,
    started: list[str],
    gate: asyncio.Event,
) -> None:
    with tenancy.serving(tenant):
        admission.register(run_id, "U1")
        async with admission.slot(run_id, lambda ahead: None) as turn:
            await turn()
            started.append(run_id)
            await gate.wait()
        admission.release(run_id)


async def test_a_full_workspace_never_queues_another_workspaces_runs() -> None:
    admission = Admission(max_live=1, max_per_user=10)
    started: list[str] = []
    gates = {name: asyncio.Event() for name in ("t1-a", "t1-b", "t2-a")}
    tasks = [
        asyncio.create_task(_hold(admission, T1, "t1-a", started, gates["t1-a"])),
        asyncio.create_task(_hold(admission, T1, "t1-b", started, gates["t1-b"])),
        asyncio.create_task(_hold(admission, T2, "t2-a", started, gates["t2-a"])),
    ]
    await asyncio.sleep(0.01)
    assert started == ["t1-a", "t2-a"]  # T1's second run waits; T2's does not wait behind it
    assert admission.waiting_count == 1
    gates["t2-a"].set()  # T2's slot freed: it is not T1's to take
    await asyncio.sleep(0.01)
    assert started == ["t1-a", "t2-a"]
    gates["t1-a"].set()
    await asyncio.sleep(0.01)
    assert started == ["t1-a", "t2-a", "t1-b"]
    gates["t1-b"].set()
    await asyncio.gather(*tasks)


async def test_queue_positions_count_only_the_workspaces_own_runs() -> None:
    admission = Admission(max_live=1, max_per_user=10)
    gate = asyncio.Event()
    holders = [
        asyncio.create_task(_hold(admission, T1, "t1-a", [], gate)),
        asyncio.create_task(_hold(admission, T2, "t2-a", [], gate)),
    ]
    await asyncio.sleep(0.01)
    seen: dict[str, list[int]] = {"t1-b": [], "t2-b": []}

    async def wait(tenant: tenancy.Tenant, run_id: str) -> None:
        with tenancy.serving(tenant):
            admission.register(run_id, "U2")
            async with admission.slot(run_id, seen[run_id].append) as turn:
                await turn()

    waiting = [
        asyncio.create_task(wait(T1, "t1-b")),
        asyncio.create_task(wait(T2, "t2-b")),
    ]
    await asyncio.sleep(0.01)
    # Each is first in its own workspace's queue (told again as the other queue moves).
    assert {run: set(told) for run, told in seen.items()} == {"t1-b": {0}, "t2-b": {0}}
    gate.set()
    await asyncio.gather(*holders, *waiting)
