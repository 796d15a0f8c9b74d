"""End to end: every finished run offers **Download (.md)** (issue 23.2) — an answer posted as
messages (short, or where canvases are off) and a DM run's streamed answer alike; a failed run
offers none. A click shares the report, with its sources, in the run's thread."""

from __future__ import annotations

from typing import Any

import pytest

from bot.render import notes
from bot.render.answer_actions import DOWNLOAD_ACTION
from sandbox.fakes.claude import Citation, FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

PAGE = ("https://tides.example/moon", "How the Moon drives tides")


def download_buttons(block_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        element
        for block in block_list
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id") == DOWNLOAD_ACTION
    ]


def with_button(messages: list[Message]) -> list[Message]:
    return [m for m in messages if download_buttons(m.blocks)]


async def _file_in(slack: FakeSlack, channel: str, thread_ts: str) -> str:
    await eventually(lambda: any(m.files for m in slack.thread(channel, thread_ts)))
    [shared] = [m for m in slack.thread(channel, thread_ts) if m.files]
    return (slack.files[shared.files[0]["id"]].content or b"").decode()


async def test_an_answer_posted_as_messages_offers_download_once_under_its_last_part(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    cited = Citation("The Moon pulls the oceans.", *PAGE, "the moon pulls")
    fake_claude.respond("subagent", lambda c: Reply(text="Findings. ", citations=[cited]))
    fake_claude.respond("integrator", lambda c: Reply(text="Short answer about tides [1]."))
    await world.command("why are there tides", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: not world.deps.runs.running, within=30)
    await eventually(lambda: "subtasks done" in thread_text(fake_slack.thread("C1", root)))
    assert not fake_slack.canvases  # short: no canvas
    [answer] = with_button(fake_slack.thread("C1", root))
    assert "Short answer about tides" in answer.visible_text()
    [button] = download_buttons(answer.blocks)
    assert button["text"]["text"] == notes.DOWNLOAD_LABEL

    await world.click(DOWNLOAD_ACTION, button["value"], message_ts=answer.ts, thread_ts=root)
    text = await _file_in(fake_slack, "C1", root)
    assert text.startswith("# why are there tides")
    assert "Short answer about tides" in text
    assert "tides.example" in text


async def test_a_failed_run_offers_no_download(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(role="subagent", times=None, status=400))
    await world.command("this will fail", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: not world.deps.runs.running, within=30)
    await eventually(lambda: ":warning:" in thread_text(fake_slack.thread("C1", root)))
    assert with_button(fake_slack.thread("C1", root)) == []


async def test_a_dm_runs_streamed_answer_ends_with_download(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    _, ts = await world.dm("why are there tides")
    await eventually(
        lambda: any(s.state != "streaming" for s in fake_slack.streams_in("D1", ts)), within=20
    )
    await eventually(lambda: not world.deps.runs.running)
    [stream] = fake_slack.streams_in("D1", ts)
    [button] = download_buttons(stream.blocks)
    await world.click(
        DOWNLOAD_ACTION, button["value"], message_ts=stream.ts, thread_ts=ts, channel="D1"
    )
    text = await _file_in(fake_slack, "D1", ts)
    assert "Integrated answer from the fake." in text
