"""Cancel while the answer is being written (issue 20.2.6): the answer so far says where it
stopped and ends with its footer, as any answer does."""

from __future__ import annotations

import pytest

from bot.render import notes
from bot.render.messages import CANCEL_ACTION, WRITING_NOTE
from pipeline import PipelineConfig
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

# The fake streams text in 24-character chunks: each ends just after a list item's "-", so
# wherever the cut falls, the text so far ends with a "-" that has no words yet.
FIRST = "Tides come in points.\n\n-"
POINT = " Point {:02d} is fine here\n-"
assert len(FIRST) == len(POINT.format(1)) == 24


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


def markdown_of(message: Message) -> str:
    return "".join(b["text"] for b in message.blocks if b.get("type") == "markdown")


async def test_cancel_while_writing_marks_the_cut_and_ends_with_the_footer(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = FIRST + "".join(POINT.format(n) for n in range(40))
    fake_claude.respond("integrator", lambda c: Reply(text=answer, latency=20))
    await world.command("explain tides", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: len(fake_slack.thread("C1", root)) == 3)  # the answer is growing
    plan = fake_slack.thread("C1", root)[1]
    run_id = world.deps.runs.running[0].run_id
    await world.click(CANCEL_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U5")
    await eventually(lambda: "Cancelled by <@U5>" in thread_text(fake_slack.thread("C1", root)))

    written = fake_slack.thread("C1", root)[2]
    text = markdown_of(written)
    assert text.startswith("Tides come in points.")
    before, _, after = text.partition(notes.STOPPED_HERE)
    assert after == ""  # the marker ends the text
    assert not before.rstrip().endswith("-")  # no stray list item
    assert "Point 39" not in text  # it did stop
    assert WRITING_NOTE not in written.visible_text()
    assert "subtasks done" in written.visible_text()  # the footer, with the figures so far
    assert "tokens in" in written.visible_text()
    assert thread_text(fake_slack.thread("C1", root)).count("Cancelled by") == 1


async def test_stop_while_writing_in_a_dm_marks_the_cut_and_ends_with_the_footer(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    answer = FIRST + "".join(POINT.format(n) for n in range(40))
    fake_claude.respond("integrator", lambda c: Reply(text=answer, latency=20))
    _, ts = await world.dm("explain tides", user="U5")
    await eventually(lambda: "Tides" in "".join(s.text for s in fake_slack.streams_in("D1", ts)))
    await world.stop_button(thread_ts=ts, user="U5", channel="D1")
    await eventually(lambda: "Cancelled by <@U5>" in thread_text(fake_slack.thread("D1", ts)))
    await eventually(lambda: not world.deps.runs.running)

    shown = thread_text(fake_slack.thread("D1", ts))
    before, marker, after = shown.partition(notes.STOPPED_HERE)
    assert marker
    assert "Tides come in points." in before
    assert not before.rstrip().endswith("-")  # no stray list item
    assert "Point 39" not in shown
    assert "tokens in" in after  # the footer, with the figures so far
    assert shown.count("Cancelled by") == 1
    assert fake_slack.sessions_processing() == []
