"""SlackProgress: a run's events -> one plan message kept current, then the answer.

The only module that turns pipeline events into Slack I/O. Updates are coalesced: the
plan message is edited at most once per `interval_s`, and the final state always lands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.slack_io import CONTENT_REFUSED, SlackIO, channel_refusal
from pipeline import PipelineEvent, RunCancelled, RunFailed, RunFinished, RunResult
from pipeline.view import RunView

logger = logging.getLogger(__name__)


async def _nobody(text: str) -> None:
    logger.warning("undeliverable: %s", text)


class SlackProgress:
    """The EventSink of one run in one Slack thread."""

    def __init__(
        self,
        io: SlackIO,
        *,
        run_id: str,
        channel: str,
        thread_ts: str,
        interval_s: float = 1.0,
        cancel_note: Callable[[], str] = lambda: "",
        undeliverable: Callable[[str], Awaitable[None]] = _nobody,
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        self._io = io
        self.channel = channel
        self.thread_ts = thread_ts
        self.view = RunView(run_id)
        self.plan_ts: str | None = None
        self._interval_s = interval_s
        self._cancel_note = cancel_note
        self._undeliverable = undeliverable
        self._on_end = on_end
        self._dirty = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._write = asyncio.Lock()  # one edit of the plan message at a time, in order
        self._compact = False  # Slack refused the full plan once: render it compactly from now
        self.answer_posted = False

    async def open(self, goal: str) -> None:
        """Post the plan message at once ("Planning…", with Cancel) so the thread is alive."""
        self.view.goal = goal
        self.plan_ts = await self._io.post(
            self.channel, blocks.plan_message(self.view), thread_ts=self.thread_ts
        )
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"flush:{self.view.run_id}")

    async def __call__(self, event: PipelineEvent) -> None:
        """Fold the event in; edit the plan message soon, or now if the run ended."""
        self.view.apply(event)
        if isinstance(event, RunFinished | RunFailed | RunCancelled):
            self._on_end()
        match event:
            case RunFinished(result=result):
                await self._finish()
                await self._post_answer(result)
            case RunFailed(result=result):
                await self._finish()
                await self._post_or_report(blocks.error_message(result), "its error message")
            case RunCancelled():
                await self._finish()
                note = self._cancel_note() or ":black_square_for_stop: Cancelled."
                await self._post_or_report(blocks.notice_message(note), "that it was cancelled")
            case _:
                self._dirty.set()

    async def _flush_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self._render()
            # Coalescing: events arriving during this pause fold into the next edit.
            await asyncio.sleep(self._interval_s)

    async def _finish(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self._render()

    async def _render(self) -> None:
        """Edit the plan message to the current state: in full, else compact, else plain text.

        Slack may refuse an edit's content (too much block text for this message, blocks it
        will not take). Then the state still has to land, above all the final one: a finished
        run must not keep a live Cancel button. Other failures are cosmetic while the run is
        live (the next edit carries the whole state again)."""
        ts = self.plan_ts
        if ts is None:
            return
        note = self._cancel_note()
        async with self._write:
            if not self._compact:
                if await self._edit(ts, blocks.plan_message(self.view, cancel_note=note)):
                    return
                self._compact = True
            compact = blocks.plan_message(self.view, cancel_note=note, compact=True)
            if not await self._edit(ts, compact):
                # Text only: an edit with no blocks removes the old ones and their buttons.
                await self._edit(ts, blocks.SlackMessage(compact.text, []))

    async def _edit(self, ts: str, message: blocks.SlackMessage) -> bool:
        """One edit of the plan message; False only if Slack refused its content."""
        try:
            await self._io.update(self.channel, ts, message)
            return True
        except SlackApiError as exc:
            error = exc.response.get("error")
            logger.warning("plan update failed: %s [run_id=%s]", error, self.view.run_id)
            return error not in CONTENT_REFUSED

    async def _post(self, message: blocks.SlackMessage) -> str | None:
        """Post in the thread, as plain text if Slack refuses the blocks; the error if lost."""
        try:
            await self._io.post(self.channel, message, thread_ts=self.thread_ts)
            return None
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            logger.warning("post failed: %s [run_id=%s]", error, self.view.run_id)
            if error not in CONTENT_REFUSED:
                return error
        try:
            for part in blocks.plain_messages(message):
                await self._io.post(self.channel, part, thread_ts=self.thread_ts)
            return None
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            logger.warning("plain-text post failed: %s [run_id=%s]", error, self.view.run_id)
            return error

    async def _post_or_report(self, message: blocks.SlackMessage, what: str) -> bool:
        error = await self._post(message)
        if error is None:
            return True
        # The thread is unreachable (bot removed, channel archived, Slack down past retries):
        # the requester must still learn how the run ended.
        if error == "connection_error":
            # The post may have landed before the connection dropped; it is not repeated.
            why = "Slack stopped answering, so it may be missing or incomplete. Ask again if so."
        else:
            why = channel_refusal(error) or f"Slack said `{error}`. Please ask again."
        await self._undeliverable(
            f"Your Orchestra run `{self.view.run_id}` ended, but I could not post {what} "
            f"in its thread: {why}"
        )
        return False

    async def _post_answer(self, result: RunResult) -> None:
        for message in blocks.answer_messages(result):
            if not await self._post_or_report(message, "the answer"):
                return
        self.answer_posted = True

    async def close(self) -> None:
        """Stop the flusher without a final edit (used when the run never started)."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
