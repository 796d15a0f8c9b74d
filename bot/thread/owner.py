"""What owns a run in Slack: the one object the registry tracks and `execute` drives.

`bot.thread.core.RunCore` implements it (and is the run's event sink), driving one of two
surfaces: a channel thread with a plan message, edited (`SlackRun`, bot/thread/channel.py) or
a DM thread with Slack's native stream (`NativeRun`, bot/thread/dm.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.render.notes import Stop
from bot.slack.requester import Requester
from pipeline import PipelineEvent, Source
from pipeline.view import RunView


class RunOwner(Protocol):
    """One run, visible in one Slack thread: opened, kept current, ended (or paused)."""

    @property
    def run_id(self) -> str: ...

    @property
    def goal(self) -> str: ...

    @property
    def channel(self) -> str: ...

    @property
    def requester(self) -> Requester: ...

    @property
    def requester_id(self) -> str:
        """Who asked for the run."""
        ...

    @property
    def thread_ts(self) -> str | None:
        """The run's thread, once it has one."""
        ...

    @property
    def plan_ts(self) -> str | None:
        """The message its buttons belong to (the plan message, or the streamed reply)."""
        ...

    @property
    def view(self) -> RunView: ...

    @property
    def queued_ahead(self) -> int | None:
        """While it waits for a slot: how many runs are ahead of it."""
        ...

    @property
    def ended(self) -> bool:
        """Its thread (or its requester) has been told how it ended."""
        ...

    async def __call__(self, event: PipelineEvent) -> None:
        """The run's event sink."""
        ...

    async def open(
        self, thread_ts: str | None, *, plan_ts: str | None = None, note: str | None = None
    ) -> bool:
        """Make the run visible; False (and the requester told why) when Slack will not."""
        ...

    async def context(self, context: str | None) -> None:
        """Keep the thread context the run plans with."""
        ...

    def waiting(self, ahead: int) -> None:
        """The run waits for a slot with `ahead` runs before it."""
        ...

    async def starting(self) -> None:
        """The run has its slot."""
        ...

    async def reviewing(self, note: str) -> None:
        """Its plan waits for the requester's approval (`note` says so), or no longer ("")."""
        ...

    def stopping(self, stop: Stop) -> None:
        """Why the run is about to be stopped (its task is cancelled next)."""
        ...

    async def pause(self) -> None:
        """Before a restart: say so at once and mark the run paused."""
        ...

    async def interrupted(self) -> None:
        """The run's task was cancelled before the pipeline could report it."""
        ...

    async def post_output(
        self, sub_id: str, role: str, output: str, sources: Sequence[Source] = ()
    ) -> str | None:
        """Post a subtask's full output in the thread once; a sentence if it cannot be."""
        ...

    async def close(self) -> None:
        """Stop writing once the last writes have landed."""
        ...
