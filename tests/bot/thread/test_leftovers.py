"""A resumed run finds what its interrupted attempt posted but was killed before recording:
its plan message (so it is not posted twice) and a half-written answer part (so it is
marked cut off), beside what the store did record."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.render import messages as blocks
from bot.slack.client import make_slack_client
from bot.slack.io import SlackIO
from bot.slack.pacing import Pacer
from bot.store import RunStore, StoredRun
from bot.thread.leftovers import Leftovers
from bot.thread.leftovers import left_in_thread as left_in
from pipeline.view import RunView
from sandbox.fakes.slack import FakeSlack
from tests.e2e.conftest import fake_slack

__all__ = ["fake_slack"]  # a fixture, used by name


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def io(fake_slack: FakeSlack) -> SlackIO:
    return SlackIO(make_slack_client(fake_slack.bot_token, fake_slack.api_url), Pacer())


async def run_in_thread(store: RunStore, slack: FakeSlack) -> tuple[str, str]:
    """A mention's run: its id and its thread (the mention), nothing posted yet."""
    root = slack.add_user_message("C1", "U1", "<@UBOT> compare tides")
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="mention", goal="tides"
    )
    await store.set_thread(run_id, root)
    return run_id, root


async def read(store: RunStore, run_id: str) -> StoredRun:
    stored = await store.get_run(run_id)
    assert stored is not None
    return stored


async def left_in_thread(io: SlackIO, stored: StoredRun) -> Leftovers:
    """What a resumed run of `stored` finds."""
    assert stored.thread_ts is not None
    return await left_in(
        io,
        stored.channel,
        stored.thread_ts,
        stored.run_id,
        plan_ts=stored.plan_ts,
        answer_ts=stored.answer_ts,
    )


async def test_an_unrecorded_plan_and_answer_part_are_found_beside_the_recorded_ones(
    fake_slack: FakeSlack, store: RunStore, io: SlackIO
) -> None:
    run_id, thread = await run_in_thread(store, fake_slack)
    other_run = blocks.plan_message(RunView("another-run", goal="tides"))
    await io.post("C1", other_run, thread_ts=thread)  # an earlier run's plan, same thread
    plan_ts = await io.post("C1", blocks.plan_message(RunView(run_id, goal="tides")), thread)
    writing = blocks.answer_part_message("Answer: finding0 finding1", writing=True)
    recorded = await io.post("C1", writing, thread_ts=thread)
    await store.add_answer_ts(run_id, recorded)
    unrecorded = await io.post("C1", writing, thread_ts=thread)  # then SIGKILL
    # Neither a finished part, nor a person quoting the note, is a half-written answer.
    finished = blocks.answer_part_message("A finished part", writing=False)
    await io.post("C1", finished, thread_ts=thread)
    fake_slack.add_user_message("C1", "U2", blocks.WRITING_NOTE, thread_ts=thread)

    assert await left_in_thread(io, await read(store, run_id)) == Leftovers(
        plan_ts, (recorded, unrecorded)
    )


async def test_a_recorded_plan_is_kept_and_without_a_plan_nothing_is_found(
    fake_slack: FakeSlack, store: RunStore, io: SlackIO
) -> None:
    run_id, thread = await run_in_thread(store, fake_slack)
    assert await left_in_thread(io, await read(store, run_id)) == Leftovers(None, ())
    await store.set_thread(run_id, thread, plan_ts="1.5")
    assert await left_in_thread(io, await read(store, run_id)) == Leftovers("1.5", ())


async def test_an_unreadable_thread_leaves_what_the_store_recorded(
    fake_slack: FakeSlack, store: RunStore, io: SlackIO
) -> None:
    run_id, _ = await run_in_thread(store, fake_slack)
    stored = dataclasses.replace(await read(store, run_id), answer_ts=("1.000001",))
    fake_slack.not_member.add("C1")  # removed from the channel meanwhile
    assert await left_in_thread(io, stored) == Leftovers(None, ("1.000001",))
