"""The answer growing in its thread while the integrator writes it: the one owner of its messages.

The first words are posted as soon as they exist, then the message is edited at most once
per interval with the latest text (edits wait behind answers and notes, ahead of plan edits).
When the text outgrows a message, the part that fits is finished (cut at a paragraph break
where there is one, a code block closed and reopened across the cut) and never edited again;
the rest grows in a new message. The final edit carries the exact answer, its Sources list
and the footer, last."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from slack_sdk.errors import SlackApiError

from bot.render import messages as blocks
from bot.render import report
from bot.render.split import line_guard
from bot.render.text import STREAM_PART_RAW_CHARS, STREAM_WHOLE_RAW_CHARS
from bot.slack.errors import CONTENT_REFUSED
from bot.slack.io import SlackIO
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from bot.thread.canvas import AnswerCanvas, CanvasShown
from pipeline import RunResult
from pipeline.markdown import fence_after

logger = logging.getLogger(__name__)

_BREAKS = ("\n\n", "\n", " ")

Journal = Callable[[list[str]], Awaitable[None]]
# An answer written within this is posted whole: one post on the channel's own limit instead
# of a post and an edit on the workspace's shared chat.update limit (~50 a minute), which a
# burst of runs ending together would queue behind. Inside the 1.5 s the first words may take.
FIRST_POST_DELAY_S = 0.8


def cut_point(text: str, limit: int) -> int:
    """Where a finished part of `text` ends: the last paragraph break (else line break,
    else space) in the second half of its first `limit` characters, else at `limit`."""
    window = text[:limit]
    for mark in _BREAKS:
        at = window.rfind(mark)
        if at >= limit // 2:
            return at + len(mark)
    return limit


def finished_part(reopen: str, text: str) -> tuple[str, int, str] | None:
    """Cut a part that fits one message from `reopen + text`: (the part, how much of `text`
    it took, the fence line to reopen after it); None when all of it fits one message.

    A code block open at the cut is closed in the part and reopened after it, so both
    render on their own."""
    whole = reopen + text
    if len(whole) <= STREAM_WHOLE_RAW_CHARS and len(blocks.answer_part_chunks(whole)) <= 1:
        return None
    limit = STREAM_PART_RAW_CHARS
    while True:
        cut = max(cut_point(whole, limit), len(reopen) + 1)
        part = whole[:cut]
        fence = fence_after(part)
        if fence is not None:
            part += fence.close
        if len(blocks.answer_part_chunks(part)) <= 1 or limit <= 200:
            after = (fence.reopen if fence else "") + line_guard(whole, cut)
            return part, cut - len(reopen), after
        limit //= 2


class AnswerStream:
    """Shows one run's answer in its thread as it is written (use `grow`, then `finish`)."""

    def __init__(
        self,
        io: SlackIO,
        poster: ThreadPoster,
        *,
        interval_s: float,
        journal: Journal,
        canvas: AnswerCanvas | None = None,
    ) -> None:
        self._io = io
        # Past its `min_chars` the answer goes to a canvas: the message stops growing at its
        # opening and, at the end, links the canvas (messages as before if it is refused).
        self._canvas = canvas
        self._canvas_shown = False  # the message says the answer continues in a canvas
        self._poster = poster
        self._interval_s = interval_s
        self._journal = journal
        self._text = ""  # the latest snapshot of the answer so far
        self._done_text = ""  # the start of the answer that finished parts show
        self._reopen = ""  # a code fence to reopen at the start of the growing part
        self._unpostable = False  # the thread refused the answer (the requester was told)
        self._plain = False  # Slack refused the answer's blocks: it goes on as plain text
        self.finished_ts: list[str] = []  # finished parts: never edited again
        self.canvas_shown: CanvasShown | None = None  # the canvas that holds the answer
        self.live_ts: str | None = None  # the part still growing
        self._dirty = asyncio.Event()
        self._lock = asyncio.Lock()  # one change of the thread at a time, in order
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        """Whether the answer began to show (its first post may still be on its way)."""
        return self._task is not None

    def grow(self, text: str) -> None:
        """The answer so far (a snapshot: a retried call starts it over)."""
        if self._closed:
            return
        self._text = text.lstrip()
        if not self._text:
            return
        self._dirty.set()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="answer-stream")

    async def _loop(self) -> None:
        # A short wait before the first post (see FIRST_POST_DELAY_S).
        await asyncio.sleep(FIRST_POST_DELAY_S)
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            async with self._lock:
                if self._closed:
                    return
                try:
                    await self._show()
                except SlackApiError as exc:
                    # The final edit tries again; the run goes on meanwhile.
                    logger.warning("answer edit failed: %s", exc.response.get("error"))
                except _Unpostable:
                    self._closed = self._unpostable = True
                    return
            # Pacing: what arrives meanwhile folds into the next edit.
            await asyncio.sleep(self._interval_s)

    async def _show(self) -> None:
        if self._plain or self._canvas_shown:
            # Plain text cannot grow in place within limits, and an answer bound for a canvas
            # stops growing here: the final edit shows either.
            return
        if self._canvas is not None and not self.finished_ts and self._canvas.wanted(self._text):
            await self._put_message(report.canvas_pending_message(self._text), writing=True)
            self._canvas_shown = True
            return
        if not self._text.startswith(self._done_text):
            return  # a retry started the answer over: the final edit sorts it out
        while (
            split := finished_part(self._reopen, self._text[len(self._done_text) :])
        ) is not None:
            part, took, reopen = split
            chunks = blocks.answer_part_chunks(part)
            if chunks:  # (a part of nothing but blank lines is taken, not shown)
                self.finished_ts.append(await self._put(chunks[0], writing=False))
                self.live_ts = None
            self._done_text += self._text[len(self._done_text) : len(self._done_text) + took]
            self._reopen = reopen
        chunk = blocks.answer_part_chunks(self._reopen + self._text[len(self._done_text) :])
        if chunk:
            await self._put(chunk[0], writing=True)

    async def _put(self, chunk: str, *, writing: bool) -> str:
        """Show `chunk` in the growing part's message (posted when there is none yet)."""
        return await self._put_message(blocks.answer_part_message(chunk, writing=writing), writing)

    async def _put_message(self, message: blocks.SlackMessage, writing: bool) -> str:
        """Show `message` in the growing part's message (posted when there is none yet)."""
        if self.live_ts is None:
            posted = await self._poster.post_or_report(message, "the answer")
            if not posted:
                raise _Unpostable
            self.live_ts = posted[-1]
            await self._journal(posted)
            self._plain = self._plain or self._poster.went_plain
        else:
            # A finished part's last edit goes with the answers; growth waits behind them.
            priority = Priority.NORMAL if writing else Priority.URGENT
            await self._edit(self.live_ts, message, priority)
        return self.live_ts

    async def _edit(
        self, ts: str, message: blocks.SlackMessage, priority: Priority
    ) -> list[blocks.SlackMessage]:
        """Edit `ts` to show `message`; what did not fit (it went plain text) comes back."""
        if self._plain:
            first, *rest = blocks.plain_messages(message)
            await self._io.update(self._poster.channel, ts, first, priority=priority)
            return rest
        try:
            await self._io.update(self._poster.channel, ts, message, priority=priority)
        except SlackApiError as exc:
            if exc.response.get("error") not in CONTENT_REFUSED:
                raise
            # Slack refused this answer's blocks: the rest of it goes as plain text.
            self._plain = True
            return await self._edit(ts, message, priority)
        return []

    async def quiet(self) -> None:
        """Stop writing, leaving what is shown as it is (the run moved to another replica)."""
        await self._stop()

    async def _stop(self) -> None:
        self._closed = True
        async with self._lock:  # an edit under way lands first
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def finish(self, result: RunResult) -> list[str] | None:
        """The exact answer, its sources and footer, ending the messages shown so far.

        Returns every message that carries the answer (None: the requester was told it could
        not be posted)."""
        await self._stop()
        if self._unpostable:
            return None
        if self._canvas is not None and not self.finished_ts and self._canvas.wanted(result.answer):
            in_canvas = await self._finish_in_canvas(self._canvas, result)
            if in_canvas is not None:
                return in_canvas
        answer = result.answer
        if not answer.startswith(self._done_text):
            # A retried call wrote another answer after parts of the first were finished:
            # those parts are wrong now, and the whole answer goes in again below them.
            logger.warning("answer restarted after parts were shown; posting it whole")
            self._done_text, self._reopen, self.live_ts = "", "", None
        final = (
            blocks.answer_messages(result, self._reopen + answer[len(self._done_text) :])
            if self._done_text
            else blocks.answer_messages(result)
        )
        shown = list(self.finished_ts)
        try:
            if self.live_ts is not None:
                spill = await self._edit(self.live_ts, final[0], Priority.URGENT)
                shown.append(self.live_ts)
                final = spill + final[1:]
        except SlackApiError as exc:
            logger.warning("answer's last edit failed: %s", exc.response.get("error"))
            # It stays as it was; the answer follows whole rather than not at all.
            final = blocks.answer_messages(result)
        for message in final:
            posted = await self._poster.post_or_report(message, "the answer")
            if posted is None:
                return None
            await self._journal(posted)
            shown += posted
        return shown

    def wants_canvas(self, result: RunResult) -> bool:
        """Whether this answer goes to a canvas (even if none of it was streamed)."""
        return self._canvas is not None and self._canvas.wanted(result.answer)

    async def _finish_in_canvas(self, canvas: AnswerCanvas, result: RunResult) -> list[str] | None:
        """The answer in a canvas, the thread's one answer message its opening and link;
        None (nothing changed) when the canvas was refused: then it goes as messages."""
        shown = await canvas.publish(result)
        if shown is None:
            return None
        self.canvas_shown = shown
        message = report.canvas_answer_message(result, shown.link, shown.title, shown.how)
        if self.live_ts is not None:
            try:
                await self._io.update(
                    self._poster.channel, self.live_ts, message, priority=Priority.URGENT
                )
                return [self.live_ts]
            except SlackApiError as exc:
                logger.warning("answer's canvas edit failed: %s", exc.response.get("error"))
        posted = await self._poster.post_or_report(message, "the answer")
        if posted is None:
            return None
        await self._journal(posted)
        return posted

    async def replace(self, message: blocks.SlackMessage) -> bool:
        """The answer will not come (the run failed): the growing part becomes `message`,
        so no cut-off answer reads as if it were one. False when nothing is shown yet."""
        await self._stop()
        if self.live_ts is None:
            return False
        try:
            for spill in await self._edit(self.live_ts, message, Priority.URGENT):
                await self._poster.post_or_report(spill, "the rest of that message")
        except SlackApiError as exc:
            logger.warning("could not replace the partial answer: %s", exc.response.get("error"))
            return False
        return True

    async def stop_here(self, result: RunResult, marker: str) -> list[str] | None:
        """The run was stopped while its answer was being written (`result`: the figures so
        far): what was written stays, `marker` says where it stopped, and the footer follows,
        as at the end of any answer. None when nothing was written yet."""
        await self._stop()
        if not self._text.strip() or self._unpostable:
            return None
        # Only the growing part may end mid-line: finished parts are never edited again.
        done = self._done_text if self._text.startswith(self._done_text) else ""
        answer = stopped_answer(done, self._text[len(done) :], marker)
        return await self.finish(replace(result, answer=answer))

    async def abandon(self) -> None:
        """The run stopped while writing: what was shown stays, without "Writing…"."""
        await self._stop()
        if self.live_ts is None:
            return
        rest = blocks.answer_part_chunks(self._reopen + self._text[len(self._done_text) :])
        try:
            if rest:
                await self._edit(
                    self.live_ts,
                    blocks.answer_part_message(rest[0], writing=False),
                    Priority.URGENT,
                )
        except SlackApiError as exc:
            logger.warning("could not end the partial answer: %s", exc.response.get("error"))


# A last line with no words yet: a list item, quote or heading just opened (the "-" a cut
# left behind), or a lone emphasis mark.
_DANGLING_LINE = re.compile(r"(?:^|\n)[ \t]*(?:[-*+>#_`]+|\d+[.)])?[ \t]*$")


def without_dangling_line(text: str) -> str:
    """`text` without a last line that has no words in it yet."""
    return _DANGLING_LINE.sub("", text.rstrip("\n")) if text.strip() else ""


def stopped_answer(done: str, rest: str, marker: str) -> str:
    """An answer as it ends when its run is stopped while it is written: `done` (what must
    stay as it is) whole, `rest` without a last line that has no words yet, a code block
    left open closed (the marker is prose), then `marker`."""
    written = done + without_dangling_line(rest)
    fence = fence_after(written)
    if fence is not None:
        written += fence.close
    return f"{written.rstrip()}\n\n{marker}"


class _Unpostable(Exception):
    """The thread would not take the answer (the requester has been told)."""
