"""A run asked for in a DM (the app's agent messages tab): `DmSurface` shows it with Slack's
native stream; `NativeRun` is the run core (`bot.thread.core`) driving it.

There the run uses Slack's native stream instead of a plan message: a status line while it
plans ("is planning the research…"), then one streamed reply in plan display mode with one
task per subtask and its live status, the answer streamed below the plan as markdown, and at
the end its notes, footer and feedback buttons (`bot.thread.native_stream` writes it). Its
progress is journaled to the run store like a channel run's, so a restart can resume it."""

from __future__ import annotations

import logging
from dataclasses import replace

from slack_sdk.errors import SlackApiError

from bot.render import messages as blocks
from bot.render import native as nb
from bot.render import notes, report
from bot.render.notes import Stop
from bot.render.text import escape, safe_markdown
from bot.slack.agent_io import NativeIO
from bot.slack.io import SlackIO
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from bot.slack.requester import Requester
from bot.store import Fence, RunStore
from bot.thread.answer_stream import stopped_answer
from bot.thread.canvas import AnswerCanvas, CanvasShown
from bot.thread.core import Refused, RunCore, RunState
from bot.thread.journal import Journal
from bot.thread.native_stream import KEEPALIVE_S, STATUS_REFRESH_S, Ending, NativeStream
from pipeline import (
    CallRetrying,
    IntegrationDelta,
    PipelineEvent,
    PlanReady,
    RunResult,
    with_sources,
)
from pipeline.view import RunView

logger = logging.getLogger(__name__)

EMPTY_ANSWER = "_(The answer was empty.)_"


class NativeRun(RunCore):
    """One run in one DM thread, shown with Slack's native stream."""

    def __init__(
        self,
        *,
        run_id: str,
        goal: str,
        requester: Requester,
        io: SlackIO,
        native: NativeIO,
        store: RunStore,
        interval_s: float,
        keepalive_s: float = KEEPALIVE_S,
        status_refresh_s: float = STATUS_REFRESH_S,
        resumed: bool = False,
        fence: Fence | None = None,
        killed: bool = False,
        canvas: AnswerCanvas | None = None,
    ) -> None:
        state = RunState(run_id, goal, requester, RunView(run_id, goal=goal))
        journal = Journal(store, run_id, plan_stored=resumed, fence=fence)
        surface = DmSurface(
            state,
            journal,
            io,
            native,
            interval_s=interval_s,
            keepalive_s=keepalive_s,
            status_refresh_s=status_refresh_s,
            killed=killed,
            canvas=canvas,
        )
        super().__init__(state, journal, surface)


class DmSurface:
    """How a run shows in a DM thread: the thread's status line, then one streamed reply
    (its plan, its answer, its end); a reply of its own for a plan to approve."""

    def __init__(
        self,
        state: RunState,
        journal: Journal,
        io: SlackIO,
        native: NativeIO,
        *,
        interval_s: float,
        keepalive_s: float = KEEPALIVE_S,
        status_refresh_s: float = STATUS_REFRESH_S,
        killed: bool = False,
        canvas: AnswerCanvas | None = None,
    ) -> None:
        self._state = state
        self._journal = journal
        # Past its `min_chars` the answer goes to a canvas the person can read: the stream
        # stops growing there and ends with the answer's opening and the canvas's link.
        self._canvas = canvas
        self._canvas_bound = False
        self.thread_ts: str | None = None
        self._io, self._native = io, native
        self._review_ts: str | None = None  # the reply with Approve and Edit (issue 22.3)
        self._interval_s, self._keepalive_s = interval_s, keepalive_s
        self._status_refresh_s = status_refresh_s
        # The attempt before this one was killed (or lost), not paused: its reply may still
        # be streaming, half written (`open` ends it and marks it cut off).
        self._killed = killed
        self.poster: ThreadPoster | None = None
        self._stream: NativeStream | None = None
        self._quiet = False  # the stream was quieted: nothing more is written, not even its end

    @property
    def plan_ts(self) -> str | None:
        """The streamed reply, once started."""
        return self._stream.ts if self._stream else None

    @property
    def _run_id(self) -> str:
        return self._state.run_id

    @property
    def _channel(self) -> str:
        return self._state.channel

    def _planning_status(self) -> str:
        if self._state.queued_ahead is not None:
            return notes.queued(self._state.queued_ahead)
        return notes.PLANNING_STATUS

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None, note: str | None
    ) -> Refused | None:
        """Start showing the run in its DM thread: the status line at once, the streamed
        plan when it is ready. (`plan_ts`, a resumed run's earlier reply, is not reused: a
        pause ended its stream; a killed attempt's is ended and marked cut off here.)"""
        if thread_ts is None:
            # A DM run lives in the thread of the message that asked; it always has one.
            logger.error("a DM run without a thread [run_id=%s]", self._run_id)
            return Refused("no thread")
        self.thread_ts = thread_ts
        self._state.requester.thread_exists(thread_ts)
        if plan_ts and self._killed:
            # Before this run's own stream: its stop must not end the session this run opens.
            await self._mark_cut_off(plan_ts)
        self.poster = ThreadPoster(
            self._io,
            self._state.requester,
            run_id=self._run_id,
            channel=self._channel,
            thread_ts=thread_ts,
        )

        async def started(ts: str) -> None:
            await self._journal.thread(thread_ts, root_ts=None, plan_ts=ts)

        self._stream = NativeStream(
            self._native,
            self._io,
            self.poster,
            self._state.view,
            recipient=self._state.requester_id,
            interval_s=self._interval_s,
            keepalive_s=self._keepalive_s,
            status_refresh_s=self._status_refresh_s,
            known=[plan_ts] if plan_ts else [],
            started=started,
        )
        self._stream.start()
        self._stream.status(self._planning_status())
        # Buffered: a DM run's thread was stored with the run (its reply's ts is not).
        await self._journal.thread(thread_ts, root_ts=None, plan_ts=None, later=True)
        if note:
            await self.poster.post(blocks.notice_message(note))
        return None

    async def _mark_cut_off(self, ts: str) -> None:
        """End the reply a killed attempt left streaming (a successful stop also moves the
        session off "processing") and replace it with a note that it was cut off, as a channel
        run does with a half-written answer: nobody takes half a reply for the answer. A reply
        Slack already ended (idle) is only replaced; each step is best effort."""
        try:
            await self._native.stop(self._channel, ts, [], [])
        except SlackApiError as exc:
            logger.info(
                "cut-off reply not stopped: %s [run_id=%s]", exc.response.get("error"), self._run_id
            )
        try:
            await self._io.update(
                self._channel,
                ts,
                blocks.notice_message(notes.REPLY_INTERRUPTED),
                priority=Priority.URGENT,
            )
        except SlackApiError as exc:
            logger.warning(
                "could not mark a cut-off reply: %s [run_id=%s]",
                exc.response.get("error"),
                self._run_id,
            )

    async def show(self, event: PipelineEvent) -> None:
        """The stream shows the plan, its tasks and the answer so far."""
        stream = self._stream
        if stream is None:
            return
        match event:
            case PlanReady():
                stream.status("")  # the plan shows from now on
                self._show_plan(stream)
            case CallRetrying(subtask_id=None, wait_s=wait) if self._state.view.plan is None:
                stream.status(f"{notes.PLANNING_STATUS} (retrying in {wait:.0f}s)")
            case IntegrationDelta(text=text):
                if self._canvas is not None and self._canvas.wanted(text):
                    self._canvas_bound = True  # streamed text cannot be taken back: it stops
                if not self._canvas_bound:
                    stream.grow(text)
            case _:
                self._show_plan(stream)

    def _show_plan(self, stream: NativeStream) -> None:
        stop, view = self._state.stop, self._state.view
        stream.title(nb.plan_title(view, stop.phase() if stop else ""))
        for sub in view.subtasks.values():
            stream.task(nb.task_chunk(sub))

    async def finished(self, result: RunResult) -> None:
        stream = self._stream
        if stream is None:
            return
        self._show_plan(stream)
        answer = result.answer.strip()
        run_id = self._run_id
        if self._canvas is not None and self._canvas.wanted(answer):
            shown = await self._canvas.publish(result)
            if shown is not None:
                await self._end_with_canvas(stream, result, shown)
                return
            # Refused: the whole answer as without canvases (the stream goes on from here).

        def continuation(rest: str) -> list[blocks.SlackMessage]:
            return nb.with_feedback(blocks.answer_messages(result, text=rest), run_id)

        ending = Ending(
            title=nb.plan_title(self._state.view),
            text=with_sources(answer, result.sources) if answer else EMPTY_ANSWER,
            cut_limit=len(answer),
            closing=nb.closing_blocks(
                [blocks.cut_note(result), blocks.failed_note(result), blocks.footer(result)],
                run_id,
                self._continuable(),
                result.follow_ups,
            ),
            continuation=continuation,
        )
        await self._journal.answer_parts(await stream.finish(ending))

    async def _end_with_canvas(
        self, stream: NativeStream, result: RunResult, shown: CanvasShown
    ) -> None:
        """The stream ends as the answer's opening, the canvas's link and the footer."""
        start = report.opening(result.answer)
        link = notes.canvas_link(shown.link, report.link_label(shown.title), shown.how)
        notes_ = [link, blocks.cut_note(result), blocks.failed_note(result), blocks.footer(result)]
        run_id = self._run_id

        def continuation(_rest: str) -> list[blocks.SlackMessage]:
            message = report.canvas_answer_message(result, shown.link, shown.title, shown.how)
            return nb.with_feedback([message], run_id)

        ending = Ending(
            title=nb.plan_title(self._state.view),
            text=start,
            cut_limit=len(start),
            closing=nb.closing_blocks(notes_, run_id, self._continuable(), result.follow_ups),
            continuation=continuation,
        )
        await self._journal.answer_parts(await stream.finish(ending))

    async def failed(self, result: RunResult) -> None:
        stream = self._stream
        if stream is None:
            return
        self._show_plan(stream)
        error = safe_markdown(" ".join((result.error or "The run failed.").split()))
        ending = Ending(
            title=nb.plan_title(self._state.view),
            text=f":warning: {error}",
            append=True,
            closing=nb.closing_blocks(
                [f"Run `{escape(self._run_id)}` · {blocks.footer(result)}"],
                None,
                self._continuable(),
            ),
            continuation=lambda _: [blocks.error_message(result)],
        )
        await stream.finish(ending)

    def _continuable(self) -> str | None:
        """This run, when the deadline cut subtasks Continue can run (issue 22.1)."""
        return self._run_id if nb.cut_at_deadline(self._state.view) else None

    async def stopped(self, stop: Stop, result: RunResult) -> None:
        stream = self._stream
        if stop.reason == "restart" or stream is None:
            return  # `pause` has ended the reply already; the next start resumes the run
        self._show_plan(stream)
        if self._state.view.answer.strip():
            # Stopped while writing: the answer so far says where it stopped, and ends with
            # its footer (the figures so far) and the note.
            await self._journal.answer_parts(await stream.finish(self._cut_ending(stop, result)))
        else:
            await stream.finish(self._note_ending(stop))

    def _cut_ending(self, stop: Stop, result: RunResult) -> Ending:
        note = stop.note()
        view = self._state.view
        answer = stopped_answer("", view.answer, notes.STOPPED_HERE)
        written = replace(result, answer=answer)

        def continuation(rest: str) -> list[blocks.SlackMessage]:
            return [*blocks.answer_messages(written, text=rest), blocks.notice_message(note)]

        return Ending(
            title=nb.plan_title(view, stop.phase()),
            text=with_sources(answer, result.sources),
            cut_limit=len(answer),
            closing=nb.closing_blocks([blocks.footer(result), note], None),
            continuation=continuation,
        )

    def _note_ending(self, stop: Stop) -> Ending:
        note = stop.note()
        return Ending(
            title=nb.plan_title(self._state.view, stop.phase()),
            text=note,
            append=True,
            continuation=lambda _: [blocks.notice_message(note)],
        )

    def waiting(self) -> None:
        """The status line says how many runs are ahead (or that it plans)."""
        if self._stream is not None:
            self._stream.status(self._planning_status())

    async def reviewing(self, note: str) -> None:
        """Its plan waits for approval: a reply with Approve, Edit and Cancel (the stream has
        no buttons of its own); once decided, that reply says so."""
        if self.thread_ts is None:
            return
        try:
            if note:
                self._review_ts = await self._io.post(
                    self._channel,
                    blocks.review_message(self._run_id, note),
                    self.thread_ts,
                    priority=Priority.URGENT,
                )
            elif self._review_ts is not None:
                await self._io.update(
                    self._channel, self._review_ts, blocks.notice_message(notes.REVIEW_DECIDED)
                )
        except SlackApiError as exc:
            logger.warning("could not show the plan review: %s", exc.response.get("error"))

    async def paused(self) -> None:
        """End the reply saying the run pauses."""
        if self._stream is not None:
            self._state.view.phase = "cancelled"  # its plan's title says it paused
            await self._stream.finish(self._note_ending(Stop("restart")))

    async def stopped_early(self, stop: Stop) -> bool:
        if self._stream is None:
            return False
        await self._stream.finish(self._note_ending(stop))
        return True

    async def plan_over(self) -> None:
        """Nothing: the stream's end is its plan's last write."""

    async def outcome(self) -> None:
        """Nothing: a DM's root is the person's own message."""

    async def quiet(self) -> None:
        """Stop writing at once, leaving the reply as it is (the new owner starts its own)."""
        self._quiet = True
        if self._stream is not None:
            await self._stream.quiet()

    async def close(self) -> None:
        """Stop writing; the status line is cleared whatever happened (unless the run moved
        to another replica: then nothing more is written)."""
        if self._stream is None or self._quiet:
            return
        await self._stream.close()
