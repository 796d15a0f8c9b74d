"""A resumed run finds the answer parts its interrupted attempt left half written: those it
recorded, and one it posted but was killed before recording (found by its "Writing…" line)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import blocks
from bot.pacing import Pacer
from bot.resume import cut_off_answers
from bot.slack_client import make_slack_client
from bot.slack_io import SlackIO
from bot.store import RunStore, StoredRun
from sandbox.fakes.slack import FakeSlack
from tests.e2e.conftest import fake_slack

__all__ = ["fake_slack"]  # a fixture, used by name


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    yield opened
    await opened.close()


async def stored_in_thread(store: RunStore, io: SlackIO, slack: FakeSlack) -> StoredRun:
    root = slack.add_user_message("C1", "U1", "<@UBOT> compare tides")
    plan_ts = await io.post("C1", blocks.notice_message("The plan"), thread_ts=root)
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="mention", goal="tides"
    )
    await store.set_thread(run_id, root, plan_ts=plan_ts)
    stored = await store.get_run(run_id)
    assert stored is not None
    return stored


async def test_a_posted_but_unrecorded_part_is_found_with_the_recorded_ones(
    fake_slack: FakeSlack, store: RunStore
) -> None:
    io = SlackIO(make_slack_client(fake_slack.bot_token, fake_slack.api_url), Pacer())
    stored = await stored_in_thread(store, io, fake_slack)
    assert stored.thread_ts is not None
    writing = blocks.answer_part_message("Answer: finding0 finding1", writing=True)
    recorded = await io.post("C1", writing, thread_ts=stored.thread_ts)
    await store.add_answer_ts(stored.run_id, recorded)
    unrecorded = await io.post("C1", writing, thread_ts=stored.thread_ts)  # then SIGKILL
    # Neither a finished part, nor a person quoting the note, is a half-written answer.
    await io.post(
        "C1",
        blocks.answer_part_message("A finished part", writing=False),
        thread_ts=stored.thread_ts,
    )
    fake_slack.add_user_message("C1", "U2", blocks.WRITING_NOTE, thread_ts=stored.thread_ts)
    again = await store.get_run(stored.run_id)
    assert again is not None

    assert await cut_off_answers(io, again) == (recorded, unrecorded)


async def test_an_unreadable_thread_leaves_the_recorded_parts(
    fake_slack: FakeSlack, store: RunStore
) -> None:
    io = SlackIO(make_slack_client(fake_slack.bot_token, fake_slack.api_url), Pacer())
    stored = await stored_in_thread(store, io, fake_slack)
    recorded = dataclasses.replace(stored, answer_ts=("1.000001",))
    fake_slack.not_member.add("C1")  # removed from the channel meanwhile
    assert await cut_off_answers(io, recorded) == ("1.000001",)
    # A DM's answer is a native stream: nothing to look for in its thread.
    assert await cut_off_answers(io, dataclasses.replace(recorded, source="dm")) == ("1.000001",)
