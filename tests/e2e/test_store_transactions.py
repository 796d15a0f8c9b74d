"""How many write transactions a run costs the store (issue 21.5), through the real app: the
writes a resume or the dedupe needs, each once, and nothing else (progress is buffered and
lands inside them). A new synchronous write per run shows here first; if it must be one,
say why in `bot/thread/journal.py` and docs/reliability.md, and count it below."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

import bot.store.core
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

SYNCHRONOUS = [  # each transaction by its last statement: the write it was made for
    "INSERT deliveries",  # the delivery claim (dedupe)
    "INSERT run_settings",  # the run row and the settings it starts with, before its work
    "UPDATE runs",  # the thread its request message started (a resume must not post another)
    "INSERT subtasks",  # the plan and its subtasks: what a resume plans from
    "UPDATE subtasks",  # each subtask's result, before the plan message shows it done
    "UPDATE subtasks",
    "UPDATE subtasks",
    "INSERT answer_messages",  # the answer's part, as it is posted
    "UPDATE runs",  # the end (its buffered progress and spend first, in this transaction)
]


def _kind(statement: str) -> str:
    words = statement.replace('"', " ").split()
    verb = words[0].upper()
    return f"{verb} {words[1] if verb == 'UPDATE' else words[2]}"


async def test_a_three_subtask_run_commits_only_what_a_resume_needs(
    world: World,
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The timer would add a transaction at some point of the run: kept out of the count.
    monkeypatch.setattr(bot.store.core, "FLUSH_AFTER_S", 3600.0)
    # A first run: the process's first claim also sweeps expired ones (once a minute).
    await world.command("research warm-up")
    await eventually(lambda: "Answer" in thread_text(fake_slack.channel_messages("C1")))
    await eventually(lambda: not world.deps.runs.running)
    engine = world.deps.store._engine.sync_engine
    transactions: list[list[str]] = []
    current: list[str] = []

    def executed(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            current.append(_kind(statement))

    def committed(_c: Any) -> None:
        if current:
            transactions.append(current.copy())
        current.clear()

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        await world.command("research tides", channel="C2")
        await eventually(lambda: "Answer" in thread_text(fake_slack.channel_messages("C2")))
        await eventually(lambda: not world.deps.runs.running)
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)

    assert len(fake_claude.calls_for("subagent")) == 6  # three a run
    # Buffered progress rides in these (the first result's carries the run's running
    # status, plan message ts, estimate and the subtasks' starts): no transaction of its own.
    assert [t[-1] for t in transactions] == SYNCHRONOUS, transactions
    # Nothing buffered was lost on the way: the stored run is whole.
    stored = await world.deps.store.get_run((await world.deps.store.recent_runs(limit=1))[0].run_id)
    assert stored is not None
    assert stored.status == "succeeded"
    assert all(s.state == "done" and s.started_at is not None for s in stored.subtasks)
    assert stored.cost_usd is not None
    assert stored.cost_usd > 0  # the buffered spend, landed with the end
