"""NativeRun: the one owner of a run asked for in a DM (the app's agent messages tab), and
the run's event sink.

There the run uses Slack's native stream instead of a plan message: a status line while it
plans ("is planning the research…"), then one streamed reply in plan display mode with one
task per subtask and its live status, the answer streamed below the plan as markdown, and at
the end its notes, footer and feedback buttons (`bot.thread.native_stream` writes it). Its
progress is journaled to the run store like a channel run's, so a restart can resume it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from slack_sdk.errors import SlackApiError

from bot.render import messages as blocks
from bot.render import native as nb
from bot.render import notes, report
from bot.render.notes import Stop
from bot.render.text import escape, mrkdwn_line, safe_markdown
from bot.slack.agent_io import NativeIO
from bot.slack.io import SlackIO
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from bot.slack.requester import Requester
from bot.store import Fence, FinishedStatus, RunStore
from bot.thread.answer_stream import stopped_answer
from bot.thread.canvas import AnswerCanvas, CanvasShown
from bot.thread.journal import Journal
from bot.thread.native_stream import KEEPALIVE_S, STATUS_REFRESH_S, Ending, NativeStream
from pipeline import (
    CallRetrying,
    IntegrationDelta,
    PipelineEvent,
    PlanReady,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunResult,
    Source,
    with_sources,
)
from pipeline.view import RunView

logger = logging.getLogger(__name__)

EMPTY_ANSWER = "_(The answer was empty.)_"


class NativeRun:
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
        self.run_id = run_id
        # Past its `min_chars` the answer goes to a canvas the person can read: the stream
        # stops growing there and ends with the answer's opening and the canvas's link.
        self._canvas = canvas
        self._canvas_bound = False
        self.goal = goal
        self.requester = requester
        self.channel = requester.channel
        self.view = RunView(run_id, goal=goal)
        self.thread_ts: str | None = None
        self.stop: Stop | None = None
        self.queued_ahead: int | None = None
        self.ended = False
        self._io, self._native = io, native
        self._review_ts: str | None = None  # the reply with Approve and Edit (issue 22.3)
        self._interval_s, self._keepalive_s = interval_s, keepalive_s
        self._status_refresh_s = status_refresh_s
        self._journal = Journal(store, run_id, plan_stored=resumed, fence=fence)
        # The attempt before this one was killed (or lost), not paused: its reply may still
        # be streaming, half written (`open` ends it and marks it cut off).
        self._killed = killed
        self._poster: ThreadPoster | None = None
        self._stream: NativeStream | None = None
        self.outputs_posted: set[str] = set()

    @property
    def requester_id(self) -> str:
        """Who asked for the run."""
        return self.requester.user

    @property
    def plan_ts(self) -> str | None:
        """The streamed reply, once started."""
        return self._stream.ts if self._stream else None

    def _planning_status(self) -> str:
        if self.queued_ahead is not None:
            return notes.queued(self.queued_ahead)
        return notes.PLANNING_STATUS

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None = None, note: str | None = None
    ) -> bool:
        """Start showing the run in its DM thread: the status line at once, the streamed
        plan when it is ready. (`plan_ts`, a resumed run's earlier reply, is not reused: a
        pause ended its stream; a killed attempt's is ended and marked cut off here.)"""
        if thread_ts is None:
            # A DM run lives in the thread of the message that asked; it always has one.
            logger.error("a DM run without a thread [run_id=%s]", self.run_id)
            self.ended = True
            await self._journal.abandoned("no thread")
            return False
        self.thread_ts = thread_ts
        self.requester.thread_exists(thread_ts)
        if plan_ts and self._killed:
            # Before this run's own stream: its stop must not end the session this run opens.
            await self._mark_cut_off(plan_ts)
        self._poster = ThreadPoster(
            self._io, self.requester, run_id=self.run_id, channel=self.channel, thread_ts=thread_ts
        )

        async def started(ts: str) -> None:
            await self._journal.thread(thread_ts, root_ts=None, plan_ts=ts)

        self._stream = NativeStream(
            self._native,
            self._io,
            self._poster,
            self.view,
            recipient=self.requester_id,
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
            await self._poster.post(blocks.notice_message(note))
        return True

    async def _mark_cut_off(self, ts: str) -> None:
        """End the reply a killed attempt left streaming (a successful stop also moves the
        session off "processing") and replace it with a note that it was cut off, as a channel
        run does with a half-written answer: nobody takes half a reply for the answer. A reply
        Slack already ended (idle) is only replaced; each step is best effort."""
        try:
            await self._native.stop(self.channel, ts, [], [])
        except SlackApiError as exc:
            logger.info(
                "cut-off reply not stopped: %s [run_id=%s]", exc.response.get("error"), self.run_id
            )
        try:
            await self._io.update(
                self.channel,
                ts,
                blocks.notice_message(notes.REPLY_INTERRUPTED),
                priority=Priority.URGENT,
            )
        except SlackApiError as exc:
            logger.warning(
                "could not mark a cut-off reply: %s [run_id=%s]",
                exc.response.get("error"),
                self.run_id,
            )

    async def __call__(self, event: PipelineEvent) -> None:
        """Fold the event in, journal it, and show it (or end the run)."""
        if self.stop is not None and self.stop.quiet:
            return  # another replica owns the run now: nothing of it is ours to show
        await self._journal.record(event)  # first: a subtask's result is stored before shown
        self.view.apply(event)
        stream = self._stream
        if stream is None:
            return
        match event:
            case PlanReady():
                stream.status("")  # the plan shows from now on
                self._show_plan(stream)
            case CallRetrying(subtask_id=None, wait_s=wait) if self.view.plan is None:
                stream.status(f"{notes.PLANNING_STATUS} (retrying in {wait:.0f}s)")
            case IntegrationDelta(text=text):
                if self._canvas is not None and self._canvas.wanted(text):
                    self._canvas_bound = True  # streamed text cannot be taken back: it stops
                if not self._canvas_bound:
                    stream.grow(text)
            case RunFinished(result=result):
                await self._finished(stream, result)
            case RunFailed(result=result):
                await self._failed(stream, result)
            case RunCancelled(result=result):
                await self._cancelled(stream, result)
            case _:
                self._show_plan(stream)

    def _show_plan(self, stream: NativeStream) -> None:
        stream.title(nb.plan_title(self.view, self.stop.phase() if self.stop else ""))
        for sub in self.view.subtasks.values():
            stream.task(nb.task_chunk(sub))

    async def _finished(self, stream: NativeStream, result: RunResult) -> None:
        self.ended = True
        self._show_plan(stream)
        answer = result.answer.strip()
        run_id = self.run_id
        if self._canvas is not None and self._canvas.wanted(answer):
            shown = await self._canvas.publish(result)
            if shown is not None:
                await self._end_with_canvas(stream, result, shown)
                return
            # Refused: the whole answer as without canvases (the stream goes on from here).

        def continuation(rest: str) -> list[blocks.SlackMessage]:
            return nb.with_feedback(blocks.answer_messages(result, text=rest), run_id)

        ending = Ending(
            title=nb.plan_title(self.view),
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
        status: FinishedStatus = "partial" if result.status == "partial" else "succeeded"
        await self._journal.finished(result, status)

    async def _end_with_canvas(
        self, stream: NativeStream, result: RunResult, shown: CanvasShown
    ) -> None:
        """The stream ends as the answer's opening, the canvas's link and the footer."""
        start = report.opening(result.answer)
        link = notes.canvas_link(shown.link, report.link_label(shown.title), shown.how)
        notes_ = [link, blocks.cut_note(result), blocks.failed_note(result), blocks.footer(result)]
        run_id = self.run_id

        def continuation(_rest: str) -> list[blocks.SlackMessage]:
            message = report.canvas_answer_message(result, shown.link, shown.title, shown.how)
            return nb.with_feedback([message], run_id)

        ending = Ending(
            title=nb.plan_title(self.view),
            text=start,
            cut_limit=len(start),
            closing=nb.closing_blocks(notes_, run_id, self._continuable(), result.follow_ups),
            continuation=continuation,
        )
        await self._journal.answer_parts(await stream.finish(ending))
        status: FinishedStatus = "partial" if result.status == "partial" else "succeeded"
        await self._journal.finished(result, status)

    async def _failed(self, stream: NativeStream, result: RunResult) -> None:
        self.ended = True
        self._show_plan(stream)
        error = safe_markdown(" ".join((result.error or "The run failed.").split()))
        ending = Ending(
            title=nb.plan_title(self.view),
            text=f":warning: {error}",
            append=True,
            closing=nb.closing_blocks(
                [f"Run `{escape(self.run_id)}` · {blocks.footer(result)}"],
                None,
                self._continuable(),
            ),
            continuation=lambda _: [blocks.error_message(result)],
        )
        await stream.finish(ending)
        await self._journal.finished(result, "failed")

    def _continuable(self) -> str | None:
        """This run, when the deadline cut subtasks Continue can run (issue 22.1)."""
        return self.run_id if nb.cut_at_deadline(self.view) else None

    async def _cancelled(self, stream: NativeStream, result: RunResult) -> None:
        stop = self.stop or Stop("cancelled_by_user")
        if stop.reason == "restart":
            # `pause` has ended the reply already; the next start resumes the run.
            await self._journal.paused()
            return
        self.ended = True
        self._show_plan(stream)
        if self.view.answer.strip():
            # Stopped while writing: the answer so far says where it stopped, and ends with
            # its footer (the figures so far) and the note.
            await self._journal.answer_parts(await stream.finish(self._cut_ending(stop, result)))
        else:
            await stream.finish(self._note_ending(stop))
        await self._journal.finished(result, "cancelled", ended_by=stop.by)

    def _cut_ending(self, stop: Stop, result: RunResult) -> Ending:
        note = stop.note()
        answer = stopped_answer("", self.view.answer, notes.STOPPED_HERE)
        written = replace(result, answer=answer)

        def continuation(rest: str) -> list[blocks.SlackMessage]:
            return [*blocks.answer_messages(written, text=rest), blocks.notice_message(note)]

        return Ending(
            title=nb.plan_title(self.view, stop.phase()),
            text=with_sources(answer, result.sources),
            cut_limit=len(answer),
            closing=nb.closing_blocks([blocks.footer(result), note], None),
            continuation=continuation,
        )

    def _note_ending(self, stop: Stop) -> Ending:
        note = stop.note()
        return Ending(
            title=nb.plan_title(self.view, stop.phase()),
            text=note,
            append=True,
            continuation=lambda _: [blocks.notice_message(note)],
        )

    def waiting(self, ahead: int) -> None:
        """The run waits for a slot with `ahead` runs before it (the status line says so)."""
        if ahead != self.queued_ahead:
            self.queued_ahead = ahead
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
                    self.channel,
                    blocks.review_message(self.run_id, note),
                    self.thread_ts,
                    priority=Priority.URGENT,
                )
            elif self._review_ts is not None:
                await self._io.update(
                    self.channel, self._review_ts, blocks.notice_message(notes.REVIEW_DECIDED)
                )
        except SlackApiError as exc:
            logger.warning("could not show the plan review: %s", exc.response.get("error"))

    async def starting(self) -> None:
        """The run has its slot: it plans now."""
        if self.queued_ahead is not None:
            self.queued_ahead = None
            if self._stream is not None:
                self._stream.status(self._planning_status())
        await self._journal.running()

    async def context(self, context: str | None) -> None:
        """Keep the conversation the run plans with, for a resume before its plan exists."""
        await self._journal.context(context)

    def stopping(self, stop: Stop) -> None:
        """Record why the run is about to be stopped (its task is cancelled next); losing the
        run to another replica outranks any earlier reason: nothing may be written then."""
        self.stop = stop if stop.quiet else self.stop or stop

    async def pause(self) -> None:
        """Before a restart: end the reply saying so at once, and mark the run paused in the
        store, so the next start resumes it."""
        self.stopping(Stop("restart"))
        self.ended = True
        await self._journal.paused()
        if self._stream is not None:
            self.view.phase = "cancelled"  # its plan's title says it paused
            await self._stream.finish(self._note_ending(Stop("restart")))

    async def interrupted(self) -> None:
        """The run's task was cancelled before the pipeline could report it."""
        if self.stop is not None and self.stop.quiet:
            return  # `close` quiets the stream
        if self.ended:
            return
        self.ended = True
        stop = self.stop or Stop("cancelled_by_user")
        self.stop = stop
        self.view.phase = "cancelled"
        if stop.reason == "restart":
            await self._journal.paused()
            return
        if self._stream is not None:
            await self._stream.finish(self._note_ending(stop))
        else:
            await self.requester.tell(f"{stop.note()} (goal: {mrkdwn_line(self.goal, 200)})")
        await self._journal.cancelled_early(stop.by)

    async def post_output(
        self, sub_id: str, role: str, output: str, sources: Sequence[Source] = ()
    ) -> str | None:
        """Post a subtask's full output (and sources) in the thread once; a sentence if it
        cannot be."""
        if sub_id in self.outputs_posted:
            return notes.OUTPUT_POSTED
        if self._poster is None:
            return notes.NO_THREAD
        self.outputs_posted.add(sub_id)
        for message in blocks.output_messages(sub_id, role, output, sources):
            if await self._poster.post_or_report(message, "that output") is None:
                break
        return None

    async def close(self) -> None:
        """Stop writing; the status line is cleared whatever happened (unless the run moved
        to another replica: then nothing more is written)."""
        if self._stream is None:
            return
        if self.stop is not None and self.stop.quiet:
            await self._stream.quiet()
        else:
            await self._stream.close()
