"""Keeping one plan message current: coalesced edits, and the final state always lands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.render import messages as blocks
from bot.slack.errors import CONTENT_REFUSED
from bot.slack.io import SlackIO
from bot.slack.pacing import Priority

logger = logging.getLogger(__name__)

Render = Callable[[bool], blocks.SlackMessage]  # compact? -> the plan message now


class PlanEditor:
    """Edits the plan message at most once per `interval_s`; `finish` makes the last edit.

    Edits of every run share one workspace-wide limit (chat.update, Tier 3), so they wait
    behind everything a person waits for, and the final edit (which removes the Cancel
    button of a finished run) goes with what people wait for: ahead of other runs' plan
    edits and of answers' "Writing…" edits (each run makes one final edit, so they cannot
    hold anything back for long). An edit renders when its turn comes and one behind skips
    to the latest state: at most one edit of the message waits, and none goes when nothing
    changed since."""

    def __init__(
        self, io: SlackIO, render: Render, *, run_id: str, channel: str, interval_s: float
    ) -> None:
        self._io = io
        self._render_message = render
        self._run_id = run_id
        self.channel = channel
        self.ts: str | None = None
        self._interval_s = interval_s
        self._dirty = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._stopped = False  # the flusher ends at its next turn (even if a cancel was lost)
        self._write = asyncio.Lock()  # one edit of the plan message at a time, in order
        self._compact = False  # Slack refused the full plan once: render it compactly from now
        self._changes = 0  # how often the state changed (`touch`)
        self._shown = -1  # the number of changes the last rendered edit carried
        # What the message shows (None: not known): an edit that would show the same again
        # is not sent. A run's first events change nothing its plan message says yet, and each
        # such edit spent a token of the workspace's chat.update limit (about 50 a minute).
        self._showing: blocks.SlackMessage | None = None

    def start(self, ts: str, showing: blocks.SlackMessage | None = None) -> None:
        """Edit the message `ts` from now on (`showing`: what it shows now, if known)."""
        self.ts = ts
        self._showing = showing
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"flush:{self._run_id}")

    def touch(self) -> None:
        """The state changed: edit soon."""
        self._changes += 1
        self._dirty.set()

    async def finish(self) -> None:
        """Stop coalescing and make the final edit (ahead of other runs' live edits)."""
        await self.stop()
        await self._render(Priority.URGENT)

    async def stop(self) -> None:
        """Stop editing, without a final edit."""
        if self._flusher is not None:
            # Cancelled, and told: a library that swallows the cancellation (redis-py did,
            # `bot.coordination.link`) must not leave the run waiting here for ever.
            self._stopped = True
            self._dirty.set()
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None

    async def _flush_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._stopped:
                return
            if self._shown == self._changes:
                continue  # the last edit rendered after this change: it showed it already
            await self._render(Priority.LOW)
            # Coalescing: events arriving during this pause fold into the next edit.
            await asyncio.sleep(self._interval_s)

    def _message(self, compact: bool) -> blocks.SlackMessage:
        self._shown = self._changes
        return self._render_message(compact)

    async def _render(self, priority: Priority) -> None:
        """Edit the plan message to the current state: in full, else compact, else plain text.

        Slack may refuse an edit's content (too much block text for this message, blocks it
        will not take). Then the state still has to land, above all the final one: a finished
        run must not keep a live Cancel button. Other failures are cosmetic while the run is
        live (the next edit carries the whole state again)."""
        ts = self.ts
        if ts is None:
            return
        async with self._write:
            if not self._compact:
                if await self._edit(ts, lambda: self._message(False), priority):
                    return
                self._compact = True
            if not await self._edit(ts, lambda: self._message(True), priority):
                # Text only: an edit with no blocks removes the old ones and their buttons.
                await self._edit(
                    ts, lambda: blocks.SlackMessage(self._message(True).text, []), priority
                )

    async def _edit(
        self, ts: str, message: Callable[[], blocks.SlackMessage], priority: Priority
    ) -> bool:
        """One edit of the plan message, rendered at its turn and not sent when the message
        shows that already; False only if Slack refused its content."""
        sent: list[blocks.SlackMessage] = []

        def changed() -> blocks.SlackMessage | None:
            latest = message()
            if latest == self._showing:
                return None
            sent.append(latest)
            return latest

        try:
            await self._io.update(self.channel, ts, changed, priority=priority)
        except SlackApiError as exc:
            error = exc.response.get("error")
            logger.warning("plan update failed: %s [run_id=%s]", error, self._run_id)
            return error not in CONTENT_REFUSED
        if sent:
            self._showing = sent[-1]
        return True
