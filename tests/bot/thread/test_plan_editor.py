"""The plan editor stops when told, even when a library under its edit swallows the
cancellation (redis-py 8.2 did: `bot.coordination.link.raise_if_cancelled_since`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import cast

from bot.render.messages import SlackMessage
from bot.slack.io import SlackIO
from bot.slack.pacing import Priority
from bot.thread.plan_editor import PlanEditor


class SwallowingIO:
    """A SlackIO whose edit takes a moment and, cancelled meanwhile, goes on regardless."""

    def __init__(self) -> None:
        self.edits = 0
        self.editing = asyncio.Event()

    async def update(
        self, channel: str, ts: str, message: object, *, priority: Priority = Priority.LOW
    ) -> bool:
        self.edits += 1
        self.editing.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as the library did
            await asyncio.sleep(0.05)
        return True


async def test_stopped_mid_edit_by_a_cancel_that_is_swallowed_the_editor_still_stops() -> None:
    io = SwallowingIO()
    editor = PlanEditor(
        cast(SlackIO, io),
        lambda compact: SlackMessage("plan", []),
        run_id="r1",
        channel="C1",
        interval_s=0.01,
    )
    editor.start("1.0")
    editor.touch()
    await io.editing.wait()
    async with asyncio.timeout(2):
        await editor.stop()
    edits = io.edits
    editor.touch()
    await asyncio.sleep(0.05)
    assert io.edits == edits == 1  # stopped means no more edits


class RecordingIO:
    """A SlackIO that records each edit it sends (a callable rendered at its turn, as the
    real one does; None from it: nothing sent)."""

    def __init__(self) -> None:
        self.sent: list[SlackMessage] = []

    async def update(
        self,
        channel: str,
        ts: str,
        message: SlackMessage | Callable[[], SlackMessage | None],
        *,
        priority: Priority = Priority.LOW,
    ) -> bool:
        latest = message() if callable(message) else message
        if latest is None:
            return False
        self.sent.append(latest)
        return True


async def test_an_edit_that_would_show_what_the_message_shows_is_not_sent() -> None:
    io = RecordingIO()
    state = {"done": 0}

    def render(compact: bool) -> SlackMessage:
        return SlackMessage(f"plan ({state['done']}/3 done)", [])

    editor = PlanEditor(cast(SlackIO, io), render, run_id="r1", channel="C1", interval_s=0)
    editor.start("1.0", render(False))  # as posted
    editor.touch()  # an event that changes nothing the message says
    await editor.finish()
    assert io.sent == []
    editor.start("1.0", render(False))
    state["done"] = 1
    editor.touch()
    await editor.finish()
    assert io.sent == [render(False)]
