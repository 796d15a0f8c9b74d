"""Slack counts its rate limits per workspace: installed in many, one workspace's calls never
wait for another's tokens."""

from __future__ import annotations

from bot.slack import tenancy
from bot.slack.pacing import Limit, Pacer


async def test_each_workspace_has_its_own_buckets() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer({"chat.update": Limit(per_second=1, burst=1)}, lambda: now[0], sleep)
    with tenancy.serving(tenancy.Tenant("T1", token="a")):
        assert await pacer.wait("chat.update", "C1")
    with tenancy.serving(tenancy.Tenant("T2", token="b")):
        assert await pacer.wait("chat.update", "C1")  # T1 spent its token, not T2's
    assert slept == []
    with tenancy.serving(tenancy.Tenant("T1", token="a")):
        assert await pacer.wait("chat.update", "C1")  # T1's second call waits its turn
    assert slept
