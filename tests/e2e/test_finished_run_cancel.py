"""End to end: a finished run loses its Cancel button soon, even while other answers stream
under a tight edit limit, and a Cancel clicked in between says the run already finished.

Asserted on the order of the fake Slack's recorded calls (how many other edits went between
the answer and the plan's last edit), not on wall-clock numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.render import notes
from bot.render.messages import CANCEL_ACTION
from bot.slack.pacing import DEFAULT_LIMITS, Limit, Pacer
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, RecordedCall
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

STREAMS = 8  # answers being written (each always has one "Writing…" edit waiting)


@pytest.fixture
async def tight_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """Edits paced at 3 a second with no burst: the edits waiting form a queue at once."""
    limits = {**DEFAULT_LIMITS, "chat.update": Limit(per_second=3, burst=1)}
    settings = world_settings(fake_slack, max_live_runs=50, shutdown_timeout_s=2)
    client = make_client(fake_claude.api_key, fake_claude.base_url, 60)
    async with running_world(
        fake_slack, AnthropicLLM(client), config, settings, pacer=Pacer(limits)
    ) as world:
        yield world
    await client.close()


def _integrator(call: CallInfo) -> Reply:
    if "streaming question" in call.user_text:
        long = "\n\n".join(f"Paragraph {p}: " + "word " * 40 for p in range(12))
        return Reply(text=long, latency=30)  # still writing when the test ends
    return Reply(text="Short answer.")


def _ok(slack: FakeSlack, method: str) -> list[RecordedCall]:
    return [c for c in slack.calls_to(method) if c.response.get("ok")]


@pytest.mark.slow
async def test_a_finished_run_drops_cancel_ahead_of_streaming_edits_and_a_late_cancel_says_so(
    tight_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", _integrator)
    for i in range(STREAMS):
        await tight_world.command(f"streaming question {i}", user=f"U{i}", channel=f"S{i}")
    await eventually(lambda: len(fake_claude.calls_for("integrator")) == STREAMS, within=20)

    def streaming() -> bool:
        """Every answer is out and being edited as it grows."""
        growing = {
            str(c.args.get("channel"))
            for c in _ok(fake_slack, "chat.update")
            if "Paragraph" in str(c.args.get("blocks"))
        }
        return len(growing) == STREAMS

    await eventually(streaming, within=20)

    await tight_world.command("short question", user="UX", channel="C1")

    def answer() -> RecordedCall | None:
        return next(
            (c for c in _ok(fake_slack, "chat.postMessage") if "Short answer." in str(c.args)),
            None,
        )

    await eventually(lambda: answer() is not None, within=20)
    root = fake_slack.channel_messages("C1")[0].ts
    plan = fake_slack.thread("C1", root)[1]
    [stored] = await tight_world.deps.store.recent_runs(channel="C1")
    await tight_world.click(
        CANCEL_ACTION, stored.run_id, message_ts=plan.ts, thread_ts=root, user="UX"
    )

    def final_edit() -> RecordedCall | None:
        return next(
            (
                c
                for c in _ok(fake_slack, "chat.update")
                if c.args.get("ts") == plan.ts and CANCEL_ACTION not in str(c.args.get("blocks"))
            ),
            None,
        )

    await eventually(lambda: final_edit() is not None, within=10)
    await eventually(lambda: any(e.user == "UX" for e in fake_slack.ephemerals))
    told = [e.text for e in fake_slack.ephemerals if e.user == "UX"]
    assert told[-1] in (notes.ALREADY_FINISHED, notes.ALREADY_ENDED)
    posted, last = answer(), final_edit()
    assert posted is not None
    assert last is not None
    between = [
        c for c in _ok(fake_slack, "chat.update") if posted.at < c.at < last.at and c is not last
    ]
    # At most the edit under way and one more: first come, first served put every waiting
    # "Writing…" edit of the other answers first.
    assert len(between) <= 2, len(between)
    assert "Cancelled" not in str(fake_slack.thread("C1", root))
