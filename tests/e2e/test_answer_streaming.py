"""End to end: the channel answer grows in its thread while the integrator writes it.

Asserted from the fakes' own records: when the fake Claude sent the integrator's first text,
when and with what the fake Slack got each post and edit of the answer."""

from __future__ import annotations

import json
import re

import pytest

from bot.render.messages import WRITING_NOTE
from pipeline import PipelineConfig
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack, RecordedCall
from sandbox.world import World
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(messages_world: World) -> World:
    """Answers as messages, not a canvas: these tests are about the messages."""
    return messages_world


@pytest.fixture
def config() -> PipelineConfig:
    # A long streamed answer must not hit the call timeout on a busy machine (a retry is
    # tested on its own).
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


def _paragraphs(count: int, words: int) -> str:
    return "\n\n".join(
        f"Paragraph {p}: " + " ".join(f"word{p}x{w}" for w in range(words)) for p in range(count)
    )


def _answer_calls(slack: FakeSlack, thread_ts: str) -> list[RecordedCall]:
    """The posts in the thread after the plan message and the edits of those posts."""
    posts = [
        c
        for c in slack.calls
        if c.method == "chat.postMessage"
        and c.status == 200
        and c.args.get("thread_ts") == thread_ts
    ][1:]  # the plan message first
    answer_ts = {str(c.response["ts"]) for c in posts}
    edits = [
        c
        for c in slack.calls
        if c.method == "chat.update" and c.status == 200 and c.args.get("ts") in answer_ts
    ]
    return sorted(posts + edits, key=lambda c: c.at)


def _markdown(call: RecordedCall) -> str:
    blocks = call.args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return "".join(b["text"] for b in blocks if b.get("type") == "markdown")


async def _run(
    world: World, slack: FakeSlack, claude: FakeAnthropic, answer: str, latency: float
) -> str:
    claude.respond("integrator", lambda c: Reply(text=answer, latency=latency))
    await world.command("explain tides", user="U42")
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: "subtasks done" in str(slack.thread("C1", root)[-1].blocks), within=30)
    await eventually(lambda: not world.deps.runs.running)
    return root


@pytest.mark.slow
async def test_the_answer_grows_from_the_first_token_and_ends_exact(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = _paragraphs(6, 40)
    root = await _run(world, fake_slack, fake_claude, answer, latency=4.0)
    integrator = fake_claude.calls_for("integrator")[0]
    assert integrator.first_text_at is not None
    calls = _answer_calls(fake_slack, root)
    first = calls[0]
    assert first.method == "chat.postMessage"
    assert _markdown(first)
    assert answer.startswith(_markdown(first))
    assert first.at - integrator.first_text_at < 1.5
    # It grew while Claude was still writing: edits with longer text before the call ended.
    during = [c for c in calls if c.at < integrator.finished_at]
    lengths = [len(_markdown(c)) for c in during]
    assert len(during) >= 3
    assert lengths == sorted(lengths)
    assert lengths[-1] > lengths[0]
    assert all(WRITING_NOTE in str(c.args.get("blocks")) for c in during)
    # One answer message; its last edit is exact and complete, the footer last.
    assert len({c.response.get("ts") or c.args.get("ts") for c in calls}) == 1
    final = fake_slack.thread("C1", root)[-1]
    assert final.blocks[0]["text"] == answer
    # The footer last among its words; only the answer's buttons come after it.
    assert "subtasks done" in final.blocks[-2]["elements"][0]["text"]
    assert final.blocks[-1]["type"] == "actions"
    assert WRITING_NOTE not in str(final.blocks)


@pytest.mark.slow
async def test_a_long_answer_continues_in_new_messages_and_full_parts_stay(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = _paragraphs(120, 40)  # about 40,000 characters: four messages' worth
    root = await _run(world, fake_slack, fake_claude, answer, latency=3.0)
    calls = _answer_calls(fake_slack, root)
    order = list(dict.fromkeys(str(c.response.get("ts") or c.args["ts"]) for c in calls))
    assert len(order) >= 4
    for ts in order[:-1]:
        mine = [c for c in calls if (c.response.get("ts") or c.args.get("ts")) == ts]
        # Once a part shows without "Writing…" it is full: it is never edited again.
        done_at = next(
            i for i, c in enumerate(mine) if WRITING_NOTE not in str(c.args.get("blocks"))
        )
        assert done_at == len(mine) - 1
    thread = {m.ts: m for m in fake_slack.thread("C1", root)}
    shown = "\n".join(
        b["text"] for ts in order for b in thread[ts].blocks if b["type"] == "markdown"
    )
    assert re.sub(r"\s+", " ", shown) == re.sub(r"\s+", " ", answer)
    assert "subtasks done" in str(thread[order[-1]].blocks[-2])


@pytest.mark.slow
async def test_a_retried_answer_after_finished_parts_still_ends_exact(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # The first attempt is cut half-way, after whole parts were shown; the retry writes the
    # same answer again from its start.
    fake_claude.inject(Fault(role="integrator", truncate_stream=True))
    answer = _paragraphs(80, 40)
    root = await _run(world, fake_slack, fake_claude, answer, latency=2.0)
    assert len(fake_claude.calls_for("integrator")) == 2
    calls = _answer_calls(fake_slack, root)
    order = list(dict.fromkeys(str(c.response.get("ts") or c.args["ts"]) for c in calls))
    thread = {m.ts: m for m in fake_slack.thread("C1", root)}
    shown = "\n".join(
        b["text"] for ts in order for b in thread[ts].blocks if b["type"] == "markdown"
    )
    assert re.sub(r"\s+", " ", shown) == re.sub(r"\s+", " ", answer)
    assert WRITING_NOTE not in str([thread[ts].blocks for ts in order])
