"""Three real replicas share one live-run cap and its queue (ORCHESTRA_MAX_LIVE_RUNS counts
the workspace's runs calling Claude, not each process's), served round robin by person."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bench.queue_cap import peak_runs_calling
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.coordination.cluster import cluster, mentioned
from tests.e2e.conftest import eventually, fake_claude, fake_slack, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

_TAG = re.compile(r"\[q(\d+)\]")


def _tagged_plan(call: CallInfo) -> Reply:
    # Every call of a run carries its tag, so the fake's log tells the runs apart.
    found = _TAG.search(call.user_text)
    plan = simple_plan("goal")
    for task in plan["subtasks"]:
        task["input"] = f"{task['input']} {found.group(0) if found else ''}"
    return Reply(json=plan)


async def test_the_live_cap_and_queue_hold_across_three_replicas(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> None:
    fake_claude.respond("orchestrator", _tagged_plan)
    fake_claude.respond("subagent", lambda call: Reply(text="Findings.", latency=0.5))
    async with cluster(
        fake_slack,
        fake_claude,
        database_url=postgres_url,
        redis_url=redis_db_url,
        logs=tmp_path,
        ORCHESTRA_MAX_LIVE_RUNS="2",
    ) as replicas:
        threads, sends = [], []
        for n in range(9):
            channel = f"Q{n}"
            text = f"<@UBOT> [q{n}] compare tides"
            ts, body, kind = mentioned(fake_slack, channel, text, f"U{n}", f"Eq{n}")
            threads.append((channel, ts))
            sends.append(replicas.replicas[n % 3].post(body, kind, http=replicas.http))
        assert await asyncio.gather(*sends) == [200] * 9

        def answered() -> int:
            return sum("tokens in" in thread_text(fake_slack.thread(c, t)) for c, t in threads)

        await eventually(lambda: answered() == 9, within=90)
        await replicas.idle()
    # Each replica alone would let 2 runs call Claude: together they still let only 2.
    assert peak_runs_calling(fake_claude) == 2
    said = [c for c in fake_slack.calls if "Queued:" in str(c.args.get("blocks"))]
    assert said  # some runs waited, and their plan message said so
