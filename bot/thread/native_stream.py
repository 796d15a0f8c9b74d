"""One run's streamed reply in a DM thread (Slack's native stream): the one writer of it.

Its owner says what the message should show (`status`, `title`, `task`, `grow`); a pump
task writes the difference, paced (at most one write per interval), and while nothing
changes it resends the plan's title every `keepalive_s`: Slack ends a stream left idle
(`message_not_in_streaming_state`, after an undocumented time; reports range from 30 s to a
few minutes, see sandbox/fakes/slack_limits.py). A stream that ends anyway (idle, or past
its maximum age) is continued by editing the same message with `chat.update`. `finish`
ends it with its last text and closing blocks; an answer too long for one streamed message
is cut at a paragraph break and continues in ordinary messages in the thread.

It also keeps the thread's agent session: "processing" (Slack's spinner and stop button) from
the first write, with the thread titled after the goal, and "active" once the turn ends
however it ends: Slack moves a session off processing only on a successful chat.stopStream
or agents.sessions.setStatus. A status line is re-sent while it shows (queued, planning):
Slack removes one after two minutes without a message.

Neither chat.startStream nor chat.appendStream is repeated after a dropped connection (one
could start a second message, the other append twice, `bot.slack.client`): the thread is
read back instead, to adopt a stream that did start or learn whether text landed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

from bot.render import native as nb
from bot.render import notes
from bot.render.kit import SlackMessage
from bot.render.stream_text import PlanUpdates, StreamedText, stream_end
from bot.slack.agent_io import Chunks, NativeIO
from bot.slack.errors import CHUNKS_REFUSED, MSG_TOO_LONG, NOT_STREAMING, STOPPED_BY_USER
from bot.slack.io import SlackIO, SlackUnreachable
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from pipeline.view import RunView

logger = logging.getLogger(__name__)

KEEPALIVE_S = 20.0  # well below the shortest idle expiry reported (about 30 s)
# assistant.threads.setStatus: "A two minute timeout applies, which will cause the status to be
# removed if no message has been sent" (its page, read 2026-12-05): re-sent well before.
STATUS_REFRESH_S = 90.0
# On a refusal of a write's content (bot.slack.errors.CHUNKS_REFUSED) its plan chunks go one at
# a time, one refused alone shortened once, then dropped (`PlanUpdates.refused`); text refused
# alone is held back (the end carries it).
# Messages read back to find a stream whose start's answer was lost (the newest are kept).
READ_BACK = 100

Mode = Literal["unstarted", "streaming", "expired", "stopped_by_user", "broken", "done"]
Outcome = Literal["sent", "refused", "lost", "failed"]


@dataclass(frozen=True)
class Ending:
    """How a stream ends.

    `append`: `text` is our own safe markdown (a note), shown after whatever the stream
    holds. Otherwise `text` is the answer (raw markdown, with its Sources list after
    `cut_limit`), which must end up shown exactly; a cut for length falls at or before
    `cut_limit`. `continuation` renders ordinary messages for a raw piece of the answer
    from a cut on (or the note), each with its own closing lines."""

    title: str
    text: str
    continuation: Callable[[str], list[SlackMessage]]
    closing: list[dict[str, Any]] = field(default_factory=list)
    append: bool = False
    cut_limit: int | None = None


class NativeStream:
    """The streamed message of one run in one DM thread, and the thread's status line."""

    def __init__(
        self,
        native: NativeIO,
        io: SlackIO,
        poster: ThreadPoster,
        view: RunView,
        *,
        recipient: str,
        interval_s: float,
        keepalive_s: float = KEEPALIVE_S,
        status_refresh_s: float = STATUS_REFRESH_S,
        known: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
        started: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._native, self._io, self._poster, self._view = native, io, poster, view
        self.channel, self.thread_ts = poster.channel, poster.thread_ts
        self._recipient = recipient
        self._interval_s, self._keepalive_s, self._clock = interval_s, keepalive_s, clock
        self._status_refresh_s = status_refresh_s
        self._known = set(known)  # the app's messages in the thread that are not this stream
        # Told the streamed message's ts once it exists (the owner records it: a restart
        # after a SIGKILL must find the message to end it and mark it cut off).
        self._started = started
        self._status_at = 0.0  # when the status line was last sent
        self._session_opened = False  # "processing" asked for (the first write)
        self._session_done = False  # moved off "processing" (or no longer ours to move)
        self.ts: str | None = None
        self.mode: Mode = "unstarted"
        self._status = self._sent_status = ""
        self._plan = PlanUpdates()
        self._raw = ""  # the answer as written so far
        self._text = StreamedText()
        self._last_write = clock() - interval_s  # the first write need not wait
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    # --- what the owner wants shown ---------------------------------------------------

    def start(self) -> None:
        """Start writing (the pump task, held here and ended by `finish` or `close`)."""
        if self._pump is None:
            name = f"native-stream:{self.channel}/{self.thread_ts}"
            self._pump = asyncio.create_task(self._run(), name=name)

    def status(self, text: str) -> None:
        """The thread's status line ("" clears it)."""
        self._status = text
        self._wake.set()

    def title(self, text: str) -> None:
        """The plan's title."""
        self._plan.title = text
        self._wake.set()

    def task(self, chunk: dict[str, Any]) -> None:
        """A task's current `task_update` chunk (sent when it changed)."""
        if self._plan.task(chunk):
            self._wake.set()

    def grow(self, answer: str) -> None:
        """The answer so far (the pipeline's snapshot)."""
        self._raw = answer.lstrip()  # the final answer is stripped: keep a prefix of it
        self._wake.set()

    # --- the pump ---------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while await self._next():
                await self._flush()
        except Exception:
            # A bug here must not end the run: `finish` still ends the message.
            logger.exception("native stream writer failed [%s/%s]", self.channel, self.thread_ts)

    async def _next(self) -> bool:
        """Wait for something to write (keeping an idle stream alive meanwhile), then for
        the interval since the last write; False once closing."""
        while not self._wake.is_set():
            dues = [d for d in (self._keepalive_due(), self._status_due()) if d is not None]
            try:
                async with asyncio.timeout(min(dues) if dues else None):
                    await self._wake.wait()
            except TimeoutError:
                await self._idle()
        if self._closing.is_set():
            return False
        gap = self._interval_s - (self._clock() - self._last_write)
        if gap > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(gap):
                    await self._closing.wait()
        self._wake.clear()
        return not self._closing.is_set()

    def _keepalive_due(self) -> float | None:
        if self.mode != "streaming":
            return None
        return max(0.0, self._keepalive_s - (self._clock() - self._last_write))

    def _status_due(self) -> float | None:
        if not self._sent_status:
            return None
        return max(0.0, self._status_refresh_s - (self._clock() - self._status_at))

    async def _idle(self) -> None:
        """Nothing changed for a while: re-send what Slack would otherwise drop."""
        if self._status_due() == 0.0:
            await self._sync_status(again=True)
        if self._keepalive_due() == 0.0:
            await self._keepalive()

    async def _keepalive(self) -> None:
        """Resend the plan's title: a write that changes nothing but the stream's idle time."""
        await self._append([nb.plan_chunk(self._plan.sent_title or self._plan.title)])

    async def _flush(self) -> None:
        await self._open_session()
        await self._sync_status()
        if self.mode == "unstarted" and self._plan.pending:
            await self._start_stream()
        elif self.mode == "streaming":
            chunks, done = self._plan.take()
            planned = len(chunks)
            # While a refused write's chunks go one at a time, the text waits for them.
            piece = None
            if not self._plan.isolating:
                piece = self._text.next_piece(self._raw, self._overhead())
            text = piece[0][len(self._text.shown) :] if piece is not None else ""
            if piece is not None:
                chunks.append(nb.text_chunk(text))
            outcome: Outcome = await self._append(chunks) if chunks else "failed"
            if outcome == "lost":
                outcome = await self._reconcile(text)
            if outcome == "refused" and planned:
                self._plan.refused()
            elif outcome == "refused":
                self._text.held = True  # the rest of the answer goes with the end
            done(outcome == "sent")
            if outcome == "sent" and piece is not None:
                self._text.show(piece)
            if self._plan.isolating:
                self._wake.set()  # the next of them at the next write, not at the next event
        elif self.mode == "expired":
            await self._edit_live()

    async def _open_session(self) -> None:
        """The first write: the thread's session "processing" (so Slack's stop button shows
        while the run is queued or plans), the session and the thread titled after the goal
        (else the agent's History says "Chats from <date>")."""
        if self._session_opened:
            return
        self._session_opened = True
        title = nb.thread_title(self._view)
        await self._native.session(self.channel, self.thread_ts, "processing", title=title or None)
        if not title:
            return
        try:
            await self._native.title(self.channel, self.thread_ts, title)
        except SlackApiError as exc:
            logger.info("could not title the thread: %s", exc.response.get("error"))

    async def _end_session(self) -> None:
        """The turn is over: its session leaves "processing" unless a stop already moved it."""
        if self._session_done or not self._session_opened:
            return
        self._session_done = True
        await self._native.session(self.channel, self.thread_ts, "active")

    async def _sync_status(self, *, again: bool = False) -> None:
        if self._status == self._sent_status and not again:
            return
        wanted = self._status
        try:
            await self._native.set_status(self.channel, self.thread_ts, wanted)
        except SlackApiError as exc:
            # A status line is a courtesy: the run goes on without it.
            logger.warning("could not set the thread status: %s", exc.response.get("error"))
        self._sent_status, self._status_at = wanted, self._clock()

    def _overhead(self) -> int:
        """What the message shows besides the answer: the plan's title and its tasks."""
        return nb.shown_size(self._plan.title, list(self._plan.tasks.values()), "")

    async def _start_stream(self) -> None:
        chunks, done = self._plan.take()
        try:
            self.ts = await self._native.start(
                self.channel, self.thread_ts, self._recipient, chunks, turn=self._recipient
            )
        except SlackUnreachable:
            # The start may have landed: adopt the message it made rather than start another.
            self.ts = await self._find_stream()
            if self.ts is None:
                logger.warning("could not start a stream: Slack unreachable")
                done(False)
                self.mode = "broken"
                return
            logger.info("a stream start whose answer was lost had landed [%s]", self.ts)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            logger.warning("could not start a stream: %s", error)
            if error in CHUNKS_REFUSED:
                self._plan.refused()  # started again with less, at the next write
                done(False)
                self._wake.set()
                return
            # Not in a stream, then: the end is posted as ordinary messages.
            done(False)
            self.mode = "broken"
            return
        done(True)
        self.mode = "streaming"
        self._last_write = self._clock()
        if self._started is not None and self.ts is not None:
            await self._started(self.ts)

    async def _find_stream(self) -> str | None:
        """The message a chat.startStream whose answer was lost created, if it did: the
        newest message from the app after the person's last one in the thread that this run
        did not post otherwise; None if there is none (or the thread cannot be read)."""
        try:
            messages = await self._io.thread_messages(
                self.channel, self.thread_ts, before_ts=None, limit=READ_BACK
            )
        except SlackApiError as exc:
            logger.warning("could not read the thread back: %s", exc.response.get("error"))
            return None
        floor = float(self.thread_ts)
        for message in messages:
            if message.get("user") and not message.get("bot_id"):
                floor = max(floor, float(message.get("ts") or 0))
        known = self._known | set(self._poster.posted)
        found = [
            str(m["ts"])
            for m in messages
            if m.get("bot_id") and float(m.get("ts") or 0) > floor and m["ts"] not in known
        ]
        return found[-1] if found else None

    async def _reconcile(self, text: str) -> Outcome:
        """An append whose answer was lost: whether it landed, from the message read back.
        Without text, it is sent again (a plan or task update shown twice changes nothing);
        with text, "sent" or "failed" when the message says which, else the stream holds
        something unknown: no more text goes in, and the end replaces the message."""
        if not text:
            return "failed"
        holds: str | None = None
        try:
            messages = await self._io.thread_messages(
                self.channel, self.thread_ts, before_ts=None, limit=READ_BACK
            )
            holds = next((str(m.get("text", "")) for m in messages if m.get("ts") == self.ts), None)
        except SlackApiError as exc:
            logger.warning("could not read the stream back: %s", exc.response.get("error"))
        if holds == self._text.shown + text:
            self._last_write = self._clock()
            return "sent"
        if holds != self._text.shown:
            self._text.lost()
        return "failed"

    async def _append(self, chunks: Chunks, priority: Priority = Priority.NORMAL) -> Outcome:
        if self.ts is None or self.mode != "streaming":
            return "failed"
        try:
            await self._native.append(self.channel, self.ts, chunks, priority=priority)
        except SlackUnreachable:
            return "lost"
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            self._refused(error)
            return "refused" if error in CHUNKS_REFUSED else "failed"
        self._last_write = self._clock()
        return "sent"

    def _refused(self, error: str) -> None:
        if error == NOT_STREAMING:
            # Slack ended the stream (idle, or too old): the same message is edited instead.
            logger.info("stream expired; editing it instead [%s/%s]", self.channel, self.ts)
            self.mode = "expired"
            self._wake.set()
        elif error == STOPPED_BY_USER:
            self.mode = "stopped_by_user"  # the person pressed stop: the cancel follows
        elif error == MSG_TOO_LONG:
            self._text.held = True  # no more text; the rest goes below at the end
            self._wake.set()
        else:
            logger.warning("stream write refused: %s [%s/%s]", error, self.channel, self.ts)

    async def _edit_live(self) -> None:
        """The expired stream's message, edited to the latest plan and answer so far."""
        if self.ts is None:
            return

        def latest() -> SlackMessage:
            markdown = nb.render(self._raw[: nb.streamable(self._raw)])
            title = self._plan.title
            return nb.fallback_message(self._view, title, markdown) or (
                nb.plan_only_message(self._view, title, notes.PLAN_WRITING + "…")
            )

        try:
            await self._io.update(self.channel, self.ts, latest)
        except SlackApiError as exc:
            logger.warning("could not edit the expired stream: %s", exc.response.get("error"))

    # --- the end ----------------------------------------------------------------------

    async def _end_pump(self) -> None:
        """Stop the pump once its current write is done."""
        self._closing.set()
        self._wake.set()
        if self._pump is not None:
            await asyncio.gather(self._pump, return_exceptions=True)

    async def quiet(self) -> None:
        """Stop writing at once, leaving the message as it is (the run moved to another
        replica, which starts its own reply)."""
        self._closing.set()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self.mode = "done"
        self._session_done = True  # the session is the new owner's to keep

    async def finish(self, ending: Ending) -> list[str]:
        """End the message as `ending` says and clear the status line; the ts of every
        message that shows the end (the streamed one, then any continuation)."""
        await self._end_pump()
        if self.mode == "done":
            return []
        self._status = ""  # first: the end is no reply to clear it with
        await self._sync_status()
        self._plan.title = ending.title
        posted: list[str] = []
        if self.mode in ("streaming", "stopped_by_user"):
            posted = await self._stop(ending)
        if self.mode == "expired":
            posted = await self._edit_end(ending)
        elif self.mode in ("unstarted", "broken"):
            posted = await self._post(ending.continuation(self._whole(ending)))
        self.mode = "done"
        await self._end_session()
        return posted

    @staticmethod
    def _whole(ending: Ending) -> str:
        return ending.text[: ending.cut_limit] if ending.cut_limit is not None else ending.text

    async def _stop(self, ending: Ending) -> list[str]:
        """Stop the stream as `stream_end` says: with the end of its text and the closing
        blocks (an answer too long for it: cut, with the rest posted below); [] when it has
        to be edited instead (`mode` is "expired" then)."""
        chunks, _ = self._plan.take(whole=True)
        end = stream_end(
            self._text,
            ending.text,
            append=ending.append,
            cut_limit=ending.cut_limit,
            overhead=self._overhead(),
        )
        if end.replace:
            await self._stop_with(chunks, "", [])
            self.mode = "expired"
            return []
        posted = await self._stop_with(chunks, end.tail, ending.closing if end.closing else [])
        if end.rest is None or not posted:
            return posted
        return posted + await self._post(ending.continuation(end.rest))

    async def _stop_with(
        self, chunks: Chunks, text: str, closing: list[dict[str, Any]]
    ) -> list[str]:
        if text:
            chunks = [*chunks, nb.text_chunk(text)]
        if not await self._stop_call(chunks, closing) or self.ts is None:
            return []
        return [self.ts]

    async def _stop_call(self, chunks: Chunks, closing: list[dict[str, Any]]) -> bool:
        if self.ts is None:
            return False
        try:
            await self._native.stop(self.channel, self.ts, chunks, closing)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            logger.warning("could not stop the stream: %s [%s/%s]", error, self.channel, self.ts)
            self.mode = "expired"  # the end is shown by editing the message instead
            return False
        self._session_done = True  # a successful stop moves the session off "processing"
        return True

    async def _edit_end(self, ending: Ending) -> list[str]:
        """The end of a stream that expired (or would not stop): the same message edited to
        the plan and the whole text, else to the plan alone with the text below it."""
        if self.ts is None:
            return await self._post(ending.continuation(self._whole(ending)))
        if ending.append:
            shown = nb.render(self._raw[: nb.streamable(self._raw)])
            markdown = (shown + "\n\n" if shown else "") + ending.text
        else:
            markdown = nb.render(ending.text)
        title = self._plan.title
        whole = nb.fallback_message(self._view, title, markdown, ending.closing)
        below = whole is None
        edit = whole or nb.plan_only_message(self._view, title, notes.ANSWER_BELOW)
        try:
            await self._io.update(self.channel, self.ts, edit, priority=Priority.URGENT)
        except SlackApiError as exc:
            logger.warning("could not edit the stream's end: %s", exc.response.get("error"))
            below = True
        posted = [self.ts]
        if below:
            posted += await self._post(ending.continuation(self._whole(ending)))
        return posted

    async def _post(self, messages: list[SlackMessage]) -> list[str]:
        posted: list[str] = []
        for message in messages:
            landed = await self._poster.post_or_report(message, "the answer")
            if landed is None:
                break
            posted += landed
        return posted

    async def close(self) -> None:
        """Stop writing. A run that ended without `finish` (it crashed) leaves no stream
        live and no status line."""
        await self._end_pump()
        if self.mode == "streaming":
            await self._stop_call([], [])
            self.mode = "done"
        if self._sent_status:
            self._status = ""
            await self._sync_status()
        await self._end_session()
