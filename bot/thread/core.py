"""One run in its Slack thread: what every run is and does, whatever shows it.

`RunCore` is the run's owner (`bot.thread.owner.RunOwner`) and its event sink. It alone keeps
the run's state (`RunState`: its view, how it was stopped, its place in the queue, whether
its end was told), journals each event before it is shown, posts subtasks' full outputs, and
decides what the thread shows and when; a `Surface` shows it: a channel thread's plan
message and answer messages (`bot.thread.channel`) or a DM's native stream
(`bot.thread.dm`). The store's writes stay here, in the order a resume needs them: an
answer's messages are recorded (by the surface, as they land) before the run's end is.

`quiet`: the run moved to another replica, which resumes it in the same thread; from then on
nothing of it is written here, and what is shown is left as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.render import messages as blocks
from bot.render import notes
from bot.render.notes import Stop
from bot.render.text import mrkdwn_line
from bot.slack.poster import ThreadPoster
from bot.slack.requester import Requester
from bot.store import FinishedStatus
from bot.thread.journal import Journal
from pipeline import PipelineEvent, RunCancelled, RunFailed, RunFinished, RunResult, Source
from pipeline.view import RunView


@dataclass
class RunState:
    """What a run is now: the core changes it, its surface reads it."""

    run_id: str
    goal: str
    requester: Requester
    view: RunView
    stop: Stop | None = None  # why it was (or is being) stopped
    queued_ahead: int | None = None  # waiting for a slot: how many runs are ahead
    ended: bool = False  # its thread (or its requester) has been told how it ended

    @property
    def channel(self) -> str:
        return self.requester.channel

    @property
    def requester_id(self) -> str:
        return self.requester.user

    @property
    def quiet(self) -> bool:
        """Another replica owns the run now: nothing of it is ours to write."""
        return self.stop is not None and self.stop.quiet


@dataclass(frozen=True)
class Refused:
    """Slack would not show the run: `reason` is recorded with it, `tell` said to its
    requester (None: nothing to say)."""

    reason: str
    tell: str | None = None


class Surface(Protocol):
    """How one run shows in its thread. Called by `RunCore` only, in this order: `open`;
    then `show`, `waiting`, `reviewing` as the run goes; then one ending (`finished`,
    `failed` or `stopped`; or `stopped_early` when the run's task was cancelled before the
    pipeline could report it; `paused` before a restart), after which the run's end is
    recorded and `plan_over` and `outcome` follow; `quiet` once the run moved elsewhere;
    `close` last."""

    @property
    def thread_ts(self) -> str | None:
        """The run's thread, once it has one."""
        ...

    @property
    def plan_ts(self) -> str | None:
        """The message its buttons belong to (the plan message, or the streamed reply)."""
        ...

    @property
    def poster(self) -> ThreadPoster | None:
        """What posts in the run's thread, once open."""
        ...

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None, note: str | None
    ) -> Refused | None:
        """Make the run visible (then `note`); why not when Slack will not."""
        ...

    async def show(self, event: PipelineEvent) -> None:
        """The view took in `event` (one that does not end the run): show it."""
        ...

    def waiting(self) -> None:
        """The run's place in the queue changed (`RunState.queued_ahead`; None: it runs)."""
        ...

    async def reviewing(self, note: str) -> None:
        """Its plan waits for approval (`note` says so), or no longer ("")."""
        ...

    async def finished(self, result: RunResult) -> None:
        """Show the answer (each message recorded as it lands)."""
        ...

    async def failed(self, result: RunResult) -> None:
        """Show why the run failed."""
        ...

    async def stopped(self, stop: Stop, result: RunResult) -> None:
        """The pipeline reports the run cancelled: show where it stopped and why (for a
        restart, only stop writing: `paused` has said so)."""
        ...

    async def stopped_early(self, stop: Stop) -> bool:
        """The run's task was cancelled before the pipeline could report it (not for a
        restart): say `stop`'s note; False when there is nowhere to say it."""
        ...

    async def paused(self) -> None:
        """Before a restart: say at once that the run pauses."""
        ...

    async def plan_over(self) -> None:
        """The run is over: the plan shows it for good (its buttons gone)."""
        ...

    async def outcome(self) -> None:
        """The run's end is recorded: show how it ended where the channel sees it."""
        ...

    async def quiet(self) -> None:
        """Stop every write at once, leaving what is shown as it is."""
        ...

    async def close(self) -> None:
        """Stop writing once the last writes have landed."""
        ...


class RunCore:
    """One run, visible in one Slack thread through its surface: opened, kept current,
    ended (or paused), or left to another replica."""

    def __init__(self, state: RunState, journal: Journal, surface: Surface) -> None:
        self.state = state
        self.outputs_posted: set[str] = set()
        self._journal = journal
        self._surface = surface

    # --- what the registry and the handlers read ----------------------------------------

    @property
    def run_id(self) -> str:
        return self.state.run_id

    @property
    def goal(self) -> str:
        return self.state.goal

    @property
    def requester(self) -> Requester:
        return self.state.requester

    @property
    def channel(self) -> str:
        return self.state.channel

    @property
    def requester_id(self) -> str:
        """Who asked for the run."""
        return self.state.requester_id

    @property
    def view(self) -> RunView:
        return self.state.view

    @property
    def stop(self) -> Stop | None:
        return self.state.stop

    @property
    def queued_ahead(self) -> int | None:
        """While it waits for a slot: how many runs are ahead of it."""
        return self.state.queued_ahead

    @property
    def ended(self) -> bool:
        """Its thread (or its requester) has been told how it ended."""
        return self.state.ended

    @property
    def thread_ts(self) -> str | None:
        return self._surface.thread_ts

    @property
    def plan_ts(self) -> str | None:
        return self._surface.plan_ts

    # --- the run's life ---------------------------------------------------------------

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None = None, note: str | None = None
    ) -> bool:
        """Make the run visible; False (the requester told why, the run recorded as
        abandoned) when Slack will not."""
        refused = await self._surface.open(thread_ts, plan_ts=plan_ts, note=note)
        if refused is None:
            return True
        self.state.ended = True
        if refused.tell is not None:
            await self.requester.tell(refused.tell)
        await self._journal.abandoned(refused.reason)
        return False

    async def context(self, context: str | None) -> None:
        """Keep the thread context the run plans with, for a resume before its plan exists."""
        await self._journal.context(context)

    def waiting(self, ahead: int) -> None:
        """The run waits for a slot with `ahead` runs before it."""
        if ahead != self.state.queued_ahead:
            self.state.queued_ahead = ahead
            self._surface.waiting()

    async def starting(self) -> None:
        """The run has its slot: it is no longer queued."""
        if self.state.queued_ahead is not None:
            self.state.queued_ahead = None
            self._surface.waiting()
        await self._journal.running()

    async def reviewing(self, note: str) -> None:
        """Its plan waits for the requester's approval (`note` says so), or no longer ("")."""
        await self._surface.reviewing(note)

    async def __call__(self, event: PipelineEvent) -> None:
        """Fold the event in, journal it; show it, or end the run."""
        if self.state.quiet:
            return  # another replica owns the run now: nothing of it is ours to show
        await self._journal.record(event)  # first: a subtask's result is stored before shown
        self.view.apply(event)
        match event:
            # The end in the thread first, then the plan's final edit: edits share one
            # workspace-wide rate limit, and an answer must never wait behind other runs' edits.
            case RunFinished(result=result):
                self.state.ended = True
                await self._surface.finished(result)
                status: FinishedStatus = "partial" if result.status == "partial" else "succeeded"
                await self._ended(result, status)
            case RunFailed(result=result):
                self.state.ended = True
                await self._surface.failed(result)
                await self._ended(result, "failed")
            case RunCancelled(result=result):
                await self._cancelled(result)
            case _:
                await self._surface.show(event)

    async def _ended(
        self, result: RunResult, status: FinishedStatus, ended_by: str | None = None
    ) -> None:
        await self._journal.finished(result, status, ended_by=ended_by)
        await self._surface.plan_over()
        await self._surface.outcome()

    async def _cancelled(self, result: RunResult) -> None:
        stop = self.state.stop or Stop("cancelled_by_user")
        if stop.reason == "restart":
            # `pause` has said so already; the next start resumes the run.
            await self._surface.stopped(stop, result)
            await self._journal.paused()
            await self._surface.plan_over()
            return
        self.state.ended = True
        await self._surface.stopped(stop, result)
        await self._ended(result, "cancelled", stop.by)

    def stopping(self, stop: Stop) -> None:
        """Record why the run is about to be stopped (its task is cancelled next); losing the
        run to another replica outranks any earlier reason: nothing may be written then."""
        self.state.stop = stop if stop.quiet else self.state.stop or stop

    async def pause(self) -> None:
        """Before a restart: say so at once and mark the run paused in the store, so the
        next start resumes it."""
        self.stopping(Stop("restart"))
        self.state.ended = True
        await self._journal.paused()
        await self._surface.paused()

    async def interrupted(self) -> None:
        """The run's task was cancelled before the pipeline could report it."""
        if self.state.quiet:
            await self._surface.quiet()
            return
        if self.state.ended:
            return
        self.state.ended = True
        stop = self.state.stop or Stop("cancelled_by_user")
        self.state.stop = stop
        # No pipeline event will end the view: it ends here, so the plan shows the run
        # stopped (and drops its Cancel button).
        self.view.phase = "cancelled"
        await self._surface.plan_over()
        if stop.reason == "restart":
            await self._journal.paused()
            return
        if not await self._surface.stopped_early(stop):
            await self.requester.tell(f"{stop.note()} (goal: {mrkdwn_line(self.goal, 200)})")
        await self._journal.cancelled_early(stop.by)
        await self._surface.outcome()

    async def post_output(
        self, sub_id: str, role: str, output: str, sources: Sequence[Source] = ()
    ) -> str | None:
        """Post a subtask's full output (and sources) in the thread once; a sentence if it
        cannot be."""
        if sub_id in self.outputs_posted:
            return notes.OUTPUT_POSTED
        poster = self._surface.poster
        if poster is None:
            return notes.NO_THREAD
        self.outputs_posted.add(sub_id)
        for message in blocks.output_messages(sub_id, role, output, sources):
            if await poster.post_or_report(message, "that output") is None:
                break
        return None

    async def close(self) -> None:
        """Stop writing once the last writes have landed (at once, saying nothing, when the
        run moved to another replica)."""
        if self.state.quiet:
            await self._surface.quiet()
        await self._surface.close()
