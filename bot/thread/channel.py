"""A run in a channel thread: `ChannelSurface` shows it with a plan message (edited as the
run goes), the answer's messages (`AnswerStream`, a canvas for a long one) and the root's
outcome line; `SlackRun` is the run core (`bot.thread.core`) driving it.

Its progress is journaled to the run store as it happens, so a restart can resume the run."""

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
from bot.slack.errors import CONNECTION_ERROR
from bot.slack.io import SlackIO, channel_refusal
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from bot.slack.requester import Requester
from bot.store import Fence, RunStore
from bot.thread.answer_stream import AnswerStream
from bot.thread.canvas import AnswerCanvas
from bot.thread.core import Refused, RunCore, RunState
from bot.thread.journal import Journal
from bot.thread.leftovers import left_in_thread
from bot.thread.plan_editor import PlanEditor
from pipeline import IntegrationDelta, PipelineEvent, RunResult
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


class SlackRun(RunCore):
    """One run in one channel thread: opened, kept current, ended (or paused) visibly."""

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
        state = RunState(run_id, goal, requester, RunView(run_id, goal=goal))
        journal = Journal(store, run_id, plan_stored=resumed, fence=fence)
        surface = ChannelSurface(
            state,
            journal,
            io,
            interval_s=interval_s,
            cut_off=cut_off,
            look_in_thread=look_in_thread,
            canvas=canvas,
            root_ts=root_ts,
        )
        super().__init__(state, journal, surface)


class ChannelSurface:
    """How a run shows in a channel thread: a root message (its own, or the person's), the
    plan message, the answer's messages (or a canvas) and notes."""

    def __init__(
        self,
        state: RunState,
        journal: Journal,
        io: SlackIO,
        *,
        interval_s: float,
        cut_off: Sequence[str] = (),
        look_in_thread: bool = False,
        canvas: AnswerCanvas | None = None,
        root_ts: str | None = None,
    ) -> None:
        self._state = state
        self._journal = journal
        self._io = io
        # The thread's root when it is the app's own request message (a /research run's, or
        # the one a Re-run, Retry, Continue or follow-up shares): its last line says how the
        # run ended (issue 23.4). A mention's root is the person's own: left alone.
        self._root_ts = root_ts
        self._canvas = canvas  # where a long answer goes (None: messages only)
        # Answer messages an interrupted attempt left half written: marked so on `open`.
        self._cut_off = tuple(cut_off)
        # The attempt was killed, not paused: it may have posted what it could not record.
        self._look_in_thread = look_in_thread
        self.thread_ts: str | None = None
        self.review_note = ""  # its plan waits for approval: what the plan message says
        self._editor = PlanEditor(
            io, self._render, run_id=state.run_id, channel=state.channel, interval_s=interval_s
        )
        self.poster: ThreadPoster | None = None
        self._answer: AnswerStream | None = None
        self._interval_s = interval_s
        self._final_edit: asyncio.Task[None] | None = None

    @property
    def plan_ts(self) -> str | None:
        """The plan message, once posted."""
        return self._editor.ts

    def _render(self, compact: bool) -> blocks.SlackMessage:
        stop, queued_ahead = self._state.stop, self._state.queued_ahead
        note = stop.phase() if stop else ""
        over = stop is None or stop.reason != "restart"
        queued = notes.queued(queued_ahead) if queued_ahead is not None else ""
        return blocks.plan_message(
            self._state.view,
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
        self, thread_ts: str | None, *, plan_ts: str | None, note: str | None
    ) -> Refused | None:
        """Make the run visible: a root message when there is no thread yet, the plan message
        ("Planning…", with Cancel) unless `plan_ts` is one to reuse, then `note`."""
        state = self._state
        root_ts: str | None = None
        if self._look_in_thread and thread_ts is not None:
            left = await left_in_thread(
                self._io,
                state.channel,
                thread_ts,
                state.run_id,
                plan_ts=plan_ts,
                answer_ts=self._cut_off,
            )
            plan_ts, self._cut_off = left.plan_ts, left.cut_off
        try:
            if thread_ts is None:
                message = blocks.request_message(state.requester_id, state.goal)
                # Posts in a channel take turns by person: one person's pile of requests
                # does not hold back another person's.
                thread_ts = root_ts = await self._io.post(
                    state.channel, message, turn=state.requester_id
                )
                self._root_ts = root_ts
                # Recorded at once, not with the plan below: a run resumed from here must
                # find its thread, not post a second request message in the channel.
                await self._journal.thread(thread_ts, root_ts=root_ts, plan_ts=None)
            self.thread_ts = thread_ts
            if plan_ts is None and note and root_ts is None:
                # A new plan in a thread that exists (Retry, Re-run): say why first.
                await self._io.post(state.channel, blocks.notice_message(note), thread_ts=thread_ts)
                note = None
            plan: blocks.SlackMessage | None = None  # (a plan message found: not known)
            if plan_ts is None:
                plan = self._render(False)
                plan_ts = await self._io.post(
                    state.channel, plan, thread_ts=thread_ts, turn=state.requester_id
                )
        except SlackApiError as exc:
            error = exc.response.get("error")
            return Refused(str(error), post_failure(error))
        state.requester.thread_exists(thread_ts)
        self.poster = ThreadPoster(
            self._io,
            state.requester,
            run_id=state.run_id,
            channel=state.channel,
            thread_ts=thread_ts,
        )
        self._answer = AnswerStream(
            self._io,
            self.poster,
            interval_s=self._interval_s,
            journal=self._journal.answer_parts,
            canvas=self._canvas,
        )
        self._editor.start(plan_ts, plan)  # before any await: its buttons work from now
        # Buffered: a resume that finds no plan ts looks for the message in the thread.
        # (A shared root is recorded too: a Re-run of this run finds it.)
        await self._journal.thread(thread_ts, root_ts=self._root_ts, plan_ts=plan_ts, later=True)
        if note:
            await self.poster.post(blocks.notice_message(note))
        await self._mark_cut_off()
        return None

    async def _mark_cut_off(self) -> None:
        """Say on each half-written answer of an interrupted attempt that it was cut off,
        so nobody takes it for the answer; the whole one comes below."""
        for ts in self._cut_off:
            try:
                await self._io.update(
                    self._state.channel,
                    ts,
                    blocks.notice_message(notes.ANSWER_INTERRUPTED),
                    priority=Priority.URGENT,
                )
            except SlackApiError as exc:
                logger.warning("could not mark a cut-off answer: %s", exc.response.get("error"))

    async def show(self, event: PipelineEvent) -> None:
        """Edit the plan message soon; the answer shows itself as it grows."""
        match event:
            case IntegrationDelta(text=text):
                # The answer shows itself; the plan message has nothing new to say.
                if self._answer is not None:
                    self._answer.grow(text)
            case _:
                self._editor.touch()

    def waiting(self) -> None:
        """The plan message says how many runs are ahead (or no longer)."""
        self._editor.touch()

    async def finished(self, result: RunResult) -> None:
        await self._editor.stop()
        if self._answer is not None and (self._answer.started or self._answer.wants_canvas(result)):
            await self._answer.finish(result)  # its messages are journaled as they go
        else:
            await self._post_whole_answer(result)

    async def _post_whole_answer(self, result: RunResult) -> None:
        for message in blocks.answer_messages(result):
            posted = await self._say(message, "the answer")
            if posted is None:
                break
            await self._journal.answer_parts(posted)

    async def failed(self, result: RunResult) -> None:
        await self._editor.stop()
        error = blocks.error_message(result)
        if self._answer is None or not await self._answer.replace(error):
            await self._say(error, "its error message")

    async def stopped(self, stop: Stop, result: RunResult) -> None:
        if stop.reason == "restart":
            # `pause` has said so in the thread already; the next start resumes the run (and
            # marks this part of the answer as cut off).
            if self._answer is not None:
                await self._answer.abandon()
            return
        await self._editor.stop()
        if self._answer is not None:
            # Stopped while writing: the answer so far says where it stopped, and its footer
            # gives the figures so far (it ended with a stray "-" and no footer).
            await self._answer.stop_here(result, notes.STOPPED_HERE)
        await self._say(blocks.notice_message(stop.note()), "that it was cancelled")

    async def stopped_early(self, stop: Stop) -> bool:
        if self.poster is None:
            return False
        await self.poster.post_or_report(
            blocks.notice_message(stop.note()), "that it was cancelled"
        )
        return True

    async def paused(self) -> None:
        await self._say(blocks.notice_message(Stop("restart").note()), "that it was paused")

    async def _say(self, message: blocks.SlackMessage, what: str) -> list[str] | None:
        if self.poster is None:
            await self._state.requester.tell(message.text)
            return None
        return await self.poster.post_or_report(message, what)

    async def plan_over(self) -> None:
        """The plan's final edit, in the background: it may wait its turn behind other runs'
        edits (one workspace-wide limit), and the run's slot and task must not wait with it."""
        if self._final_edit is None:
            self._final_edit = asyncio.create_task(
                self._editor.finish(), name=f"final-edit:{self._state.run_id}"
            )

    async def outcome(self) -> None:
        """The root message's last line says how the run ended (its canvas linked)."""
        state = self._state
        outcome = outcome_of(state.view)
        if self._root_ts is None or outcome is None:
            return
        shown = self._answer.canvas_shown if self._answer is not None else None
        canvas = f"<{shown.link}|{link_label(shown.title)}>" if shown is not None else ""
        message = blocks.request_message(
            state.requester_id, state.goal, notes.root_outcome(outcome, canvas)
        )
        try:
            await self._io.update(state.channel, self._root_ts, message, priority=Priority.NORMAL)
        except SlackApiError as exc:
            # Only a summary: the thread says it all.
            logger.warning("could not show the outcome on the root: %s", exc.response.get("error"))

    async def quiet(self) -> None:
        """Stop every write of the run at once, saying nothing: its thread is another
        replica's now (which resumes the run there)."""
        if self._answer is not None:
            await self._answer.quiet()
        await self._editor.stop()

    async def close(self) -> None:
        """Stop editing the plan message once its final edit (if any) has landed."""
        if self._final_edit is not None:
            await asyncio.gather(self._final_edit, return_exceptions=True)
        await self._editor.stop()
