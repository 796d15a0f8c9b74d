"""SlackRun: the one owner of a run in Slack, and the run's event sink.

It alone holds and changes the run's thread, plan message, view, posted outputs and how the
run was stopped; everything else asks it. Its progress is journaled to the run store as it
happens, so a restart can resume the run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError

from bot.render import messages as blocks
from bot.render import notes
from bot.render.notes import Stop
from bot.render.plan import outcome_of
from bot.render.report import link_label
from bot.render.text import mrkdwn_line
from bot.slack.errors import CONNECTION_ERROR
from bot.slack.io import SlackIO, channel_refusal
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from bot.slack.requester import Requester
from bot.store import Fence, FinishedStatus, RunStore
from bot.thread.answer_stream import AnswerStream
from bot.thread.canvas import AnswerCanvas
from bot.thread.journal import Journal
from bot.thread.leftovers import left_in_thread
from bot.thread.plan_editor import PlanEditor
from pipeline import (
    IntegrationDelta,
    PipelineEvent,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunResult,
    Source,
)
from pipeline.view import RunView

logger = logging.getLogger(__name__)


def post_failure(error: object) -> str:
    """Why a run could not start in its channel, for the requester."""
    refusal = channel_refusal(error)
    if refusal is not None:
        return f"I can't post there, so the run did not start. {refusal}"
    if error == CONNECTION_ERROR:
        return "I could not reach Slack, so the run did not start. Please try again."
    return "Slack would not accept my message, so the run did not start. Please try again."


class SlackRun:
    """One run in one Slack thread: opened, kept current, ended (or paused) visibly."""

    def __init__(
        self,
        *,
        run_id: str,
        goal: str,
        requester: Requester,
        io: SlackIO,
        store: RunStore,
        interval_s: float,
        resumed: bool = False,
        fence: Fence | None = None,
        cut_off: Sequence[str] = (),
        look_in_thread: bool = False,
        canvas: AnswerCanvas | None = None,
        root_ts: str | None = None,
    ) -> None:
        self.run_id = run_id
        # The thread's root when it is the app's own request message (a /research run's, or
        # the one a Re-run, Retry, Continue or follow-up shares): its last line says how the
        # run ended (issue 23.4). A mention's root is the person's own: left alone.
        self._root_ts = root_ts
        self._canvas = canvas  # where a long answer goes (None: messages only)
        # Answer messages an interrupted attempt left half written: marked so on `open`.
        self._cut_off = tuple(cut_off)
        # The attempt was killed, not paused: it may have posted what it could not record.
        self._look_in_thread = look_in_thread
        self.goal = goal
        self.requester = requester
        self.channel = requester.channel
        self.view = RunView(run_id, goal=goal)
        self.thread_ts: str | None = None
        self.outputs_posted: set[str] = set()
        self.stop: Stop | None = None
        self.queued_ahead: int | None = None  # waiting for a slot: how many runs are ahead
        self.review_note = ""  # its plan waits for approval: what the plan message says
        self.ended = False  # its thread (or its requester) has been told how it ended
        self._io = io
        self._journal = Journal(store, run_id, plan_stored=resumed, fence=fence)
        self._editor = PlanEditor(
            io, self._render, run_id=run_id, channel=self.channel, interval_s=interval_s
        )
        self._poster: ThreadPoster | None = None
        self._answer: AnswerStream | None = None
        self._interval_s = interval_s
        self._final_edit: asyncio.Task[None] | None = None

    @property
    def requester_id(self) -> str:
        """Who asked for the run."""
        return self.requester.user

    @property
    def plan_ts(self) -> str | None:
        """The plan message, once posted."""
        return self._editor.ts

    def _render(self, compact: bool) -> blocks.SlackMessage:
        note = self.stop.phase() if self.stop else ""
        over = self.stop is None or self.stop.reason != "restart"
        queued = notes.queued(self.queued_ahead) if self.queued_ahead is not None else ""
        return blocks.plan_message(
            self.view,
            cancel_note=note,
            compact=compact,
            over=over,
            queued=queued,
            review=self.review_note,
        )

    async def reviewing(self, note: str) -> None:
        """Its plan waits for approval (`note` says until when), or no longer ("")."""
        self.review_note = note
        self._editor.touch()

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None = None, note: str | None = None
    ) -> bool:
        """Make the run visible: a root message when there is no thread yet, the plan message
        ("Planning…", with Cancel) unless `plan_ts` is one to reuse, then `note`.

        False (and the requester told why) when Slack will not take the messages."""
        root_ts: str | None = None
        if self._look_in_thread and thread_ts is not None:
            left = await left_in_thread(
                self._io,
                self.channel,
                thread_ts,
                self.run_id,
                plan_ts=plan_ts,
                answer_ts=self._cut_off,
            )
            plan_ts, self._cut_off = left.plan_ts, left.cut_off
        try:
            if thread_ts is None:
                message = blocks.request_message(self.requester_id, self.goal)
                # Posts in a channel take turns by person: one person's pile of requests
                # does not hold back another person's.
                thread_ts = root_ts = await self._io.post(
                    self.channel, message, turn=self.requester_id
                )
                self._root_ts = root_ts
                # Recorded at once, not with the plan below: a run resumed from here must
                # find its thread, not post a second request message in the channel.
                await self._journal.thread(thread_ts, root_ts=root_ts, plan_ts=None)
            self.thread_ts = thread_ts
            if plan_ts is None and note and root_ts is None:
                # A new plan in a thread that exists (Retry, Re-run): say why first.
                await self._io.post(self.channel, blocks.notice_message(note), thread_ts=thread_ts)
                note = None
            if plan_ts is None:
                plan = self._render(False)
                plan_ts = await self._io.post(
                    self.channel, plan, thread_ts=thread_ts, turn=self.requester_id
                )
        except SlackApiError as exc:
            self.ended = True
            await self.requester.tell(post_failure(exc.response.get("error")))
            await self._journal.abandoned(str(exc.response.get("error")))
            return False
        self.requester.thread_exists(thread_ts)
        self._poster = ThreadPoster(
            self._io, self.requester, run_id=self.run_id, channel=self.channel, thread_ts=thread_ts
        )
        self._answer = AnswerStream(
            self._io,
            self._poster,
            interval_s=self._interval_s,
            journal=self._journal.answer_parts,
            canvas=self._canvas,
        )
        self._editor.start(plan_ts)  # before any await: its buttons can be clicked from now
        # Buffered: a resume that finds no plan ts looks for the message in the thread.
        # (A shared root is recorded too: a Re-run of this run finds it.)
        await self._journal.thread(thread_ts, root_ts=self._root_ts, plan_ts=plan_ts, later=True)
        if note:
            await self._poster.post(blocks.notice_message(note))
        await self._mark_cut_off()
        return True

    async def _mark_cut_off(self) -> None:
        """Say on each half-written answer of an interrupted attempt that it was cut off,
        so nobody takes it for the answer; the whole one comes below."""
        for ts in self._cut_off:
            try:
                await self._io.update(
                    self.channel,
                    ts,
                    blocks.notice_message(notes.ANSWER_INTERRUPTED),
                    priority=Priority.URGENT,
                )
            except SlackApiError as exc:
                logger.warning("could not mark a cut-off answer: %s", exc.response.get("error"))

    async def __call__(self, event: PipelineEvent) -> None:
        """Fold the event in, journal it; edit the plan message soon, or end the run now."""
        if self.stop is not None and self.stop.quiet:
            return  # another replica owns the run now: nothing of it is ours to show
        await self._journal.record(event)  # first: a subtask's result is stored before shown
        self.view.apply(event)
        match event:
            # The end in the thread first, then the plan's final edit: edits share one
            # workspace-wide rate limit, and an answer must never wait behind other runs' edits.
            case RunFinished(result=result):
                self.ended = True
                await self._editor.stop()
                await self._post_answer(result)
                self._finish_plan()
                await self._show_outcome()
            case RunFailed(result=result):
                self.ended = True
                await self._editor.stop()
                error = blocks.error_message(result)
                if self._answer is None or not await self._answer.replace(error):
                    await self._say(error, "its error message")
                await self._journal.finished(result, "failed")
                self._finish_plan()
                await self._show_outcome()
            case RunCancelled(result=result):
                await self._cancelled(result)
            case IntegrationDelta(text=text):
                # The answer shows itself; the plan message has nothing new to say.
                if self._answer is not None:
                    self._answer.grow(text)
            case _:
                self._editor.touch()

    def _finish_plan(self) -> None:
        """The plan's final edit, in the background: it may wait its turn behind other runs'
        edits (one workspace-wide limit), and the run's slot and task must not wait with it."""
        if self._final_edit is None:
            self._final_edit = asyncio.create_task(
                self._editor.finish(), name=f"final-edit:{self.run_id}"
            )

    async def _show_outcome(self) -> None:
        """The root message's last line says how the run ended (its canvas linked)."""
        outcome = outcome_of(self.view)
        if self._root_ts is None or outcome is None:
            return
        shown = self._answer.canvas_shown if self._answer is not None else None
        canvas = f"<{shown.link}|{link_label(shown.title)}>" if shown is not None else ""
        message = blocks.request_message(
            self.requester_id, self.goal, notes.root_outcome(outcome, canvas)
        )
        try:
            await self._io.update(self.channel, self._root_ts, message, priority=Priority.NORMAL)
        except SlackApiError as exc:
            # Only a summary: the thread says it all.
            logger.warning("could not show the outcome on the root: %s", exc.response.get("error"))

    async def _say(self, message: blocks.SlackMessage, what: str) -> list[str] | None:
        if self._poster is None:
            await self.requester.tell(message.text)
            return None
        return await self._poster.post_or_report(message, what)

    async def _post_answer(self, result: RunResult) -> None:
        if self._answer is not None and (self._answer.started or self._answer.wants_canvas(result)):
            await self._answer.finish(result)  # its messages are journaled as they go
        else:
            await self._post_whole_answer(result)
        status: FinishedStatus = "partial" if result.status == "partial" else "succeeded"
        await self._journal.finished(result, status)

    async def _post_whole_answer(self, result: RunResult) -> None:
        for message in blocks.answer_messages(result):
            posted = await self._say(message, "the answer")
            if posted is None:
                break
            await self._journal.answer_parts(posted)

    async def _cancelled(self, result: RunResult) -> None:
        stop = self.stop or Stop("cancelled_by_user")
        if stop.reason == "restart":
            # `pause` has said so in the thread already; the next start resumes the run (and
            # marks this part of the answer as cut off).
            if self._answer is not None:
                await self._answer.abandon()
            await self._journal.paused()
            self._finish_plan()
            return
        self.ended = True
        await self._editor.stop()
        if self._answer is not None:
            # Stopped while writing: the answer so far says where it stopped, and its footer
            # gives the figures so far (it ended with a stray "-" and no footer).
            await self._answer.stop_here(result, notes.STOPPED_HERE)
        await self._say(blocks.notice_message(stop.note()), "that it was cancelled")
        await self._journal.finished(result, "cancelled", ended_by=stop.by)
        self._finish_plan()
        await self._show_outcome()

    def waiting(self, ahead: int) -> None:
        """The run waits for a slot with `ahead` runs before it (the plan message says so)."""
        if ahead != self.queued_ahead:
            self.queued_ahead = ahead
            self._editor.touch()

    async def starting(self) -> None:
        """The run has its slot: it is no longer queued."""
        if self.queued_ahead is not None:
            self.queued_ahead = None
            self._editor.touch()
        await self._journal.running()

    async def context(self, context: str | None) -> None:
        """Keep the thread context the run plans with, for a resume before its plan exists."""
        await self._journal.context(context)

    def stopping(self, stop: Stop) -> None:
        """Record why the run is about to be stopped (its task is cancelled next); losing the
        run to another replica outranks any earlier reason: nothing may be written then."""
        self.stop = stop if stop.quiet else self.stop or stop

    async def _quiet(self) -> None:
        """Stop every write of the run at once, saying nothing: its thread is another
        replica's now (which resumes the run there)."""
        if self._answer is not None:
            await self._answer.quiet()
        await self._editor.stop()

    async def pause(self) -> None:
        """Before a restart: say so in the thread at once (ahead of any plan edit) and mark
        the run paused in the store, so the next start resumes it."""
        self.stopping(Stop("restart"))
        self.ended = True
        await self._journal.paused()
        await self._say(blocks.notice_message(Stop("restart").note()), "that it was paused")

    async def interrupted(self) -> None:
        """The run's task was cancelled before the pipeline could report it."""
        if self.stop is not None and self.stop.quiet:
            await self._quiet()
            return
        if self.ended:
            return
        self.ended = True
        stop = self.stop or Stop("cancelled_by_user")
        self.stop = stop
        # No pipeline event will end the view: it ends here, so the plan's last edit shows
        # the run stopped (and drops its Cancel button).
        self.view.phase = "cancelled"
        self._finish_plan()
        if stop.reason == "restart":
            await self._journal.paused()
            return
        note = stop.note()
        if self._poster is not None:
            await self._poster.post_or_report(blocks.notice_message(note), "that it was cancelled")
        else:
            await self.requester.tell(f"{note} (goal: {mrkdwn_line(self.goal, 200)})")
        await self._journal.cancelled_early(stop.by)
        await self._show_outcome()

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
        """Stop editing the plan message once its final edit (if any) has landed."""
        if self.stop is not None and self.stop.quiet:
            await self._quiet()
        if self._final_edit is not None:
            await asyncio.gather(self._final_edit, return_exceptions=True)
        await self._editor.stop()
