"""Pure: what a streamed message holds and what it may hold next: its plan (`PlanUpdates`)
and its answer text (`StreamedText`).

Streamed text cannot be taken back, so the stream only ever shows a prefix of the answer's
final rendering: whole words (`streamable`), rendered safe (`native_blocks.render`), and
only while the new rendering still starts with what is shown (a retried answer starts over;
then nothing more is streamed and the end replaces the message). Near the message's limit
the text grows by whole paragraphs, so that an answer too long for one streamed message is
cut between two of them (a code block open at the cut is closed, and reopened below)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import native_blocks as nb
from pipeline.markdown import Fence, fence_after

CONTINUES_ROOM = 200  # room kept in a full stream for "The answer continues below."
SOFT_ROOM = 2_000  # within this of the limit, the streamed answer grows by paragraphs
BREAKS = ("\n\n", "\n", " ")


@dataclass(frozen=True)
class Cut:
    """Where an answer is cut for length: `at` (raw index), and the code block open there."""

    at: int
    fence: Fence | None

    def part(self, text: str) -> str:
        """The rendered part before the cut, a code block open there closed."""
        if not self.at:
            return ""
        return nb.render(text[: self.at]) + (self.fence.close if self.fence else "")

    def rest(self, text: str, end: int) -> str:
        """The raw rest up to `end`, a code block open at the cut reopened."""
        return (self.fence.reopen if self.fence else "") + text[self.at : end]


class StreamedText:
    """The answer text one streamed message holds. `overhead`: what the message shows
    besides it (the plan's title and tasks, `native_blocks.shown_size` with no text)."""

    def __init__(self) -> None:
        self.shown = ""  # the rendered text the stream holds
        self.shown_raw = 0  # how much of the raw answer that is
        self.held = False  # no more text goes into the stream (it diverged, or is full)

    def fits(self, rendered: str, overhead: int, room: int = 0) -> bool:
        """Whether a message holding `rendered` stays within the budget, `room` to spare."""
        return overhead + len(rendered.encode()) + room <= nb.STREAM_BUDGET

    def extends(self, rendered: str) -> bool:
        """Whether `rendered` starts with what is shown (so the difference may be added)."""
        return rendered.startswith(self.shown)

    def next_piece(self, raw: str, overhead: int) -> tuple[str, int] | None:
        """The rendering to hold next and how much of `raw` (the answer so far) it is; None
        when nothing new may be shown now. Sets `held` when nothing more ever will be."""
        if self.held:
            return None
        end = nb.streamable(raw)
        if end <= self.shown_raw:
            return None
        rendered = nb.render(raw[:end])
        if not self.extends(rendered):
            self.held = True
            return None
        if self.fits(rendered, overhead, SOFT_ROOM):
            return rendered, end
        cut = self.cut(raw, end, overhead, ("\n\n",))
        if cut is not None and cut.at > self.shown_raw:
            return nb.render(raw[: cut.at]), cut.at
        if not self.fits(rendered, overhead, CONTINUES_ROOM):
            self.held = True  # full: the rest continues below at the end
        return None

    def show(self, piece: tuple[str, int]) -> None:
        """`piece` (from `next_piece`) is in the stream now."""
        self.shown, self.shown_raw = piece

    def cut(
        self, text: str, limit: int, overhead: int, marks: tuple[str, ...] = BREAKS
    ) -> Cut | None:
        """The latest break (of the first of `marks` that has one) at or before `limit`
        after which the rendered text, a code block closed, still fits and extends what is
        shown; else where the shown text ends (also when it ends at a coarser break than
        the next one found); None when nothing is shown and nothing fits."""
        # Rendering never shortens text, so no cut past what the room left could fit.
        room = nb.STREAM_BUDGET - overhead - len(self.shown.encode())
        limit = min(limit, self.shown_raw + max(0, room) + 1)
        for mark in marks:
            at = text.rfind(mark, self.shown_raw, limit)
            while at >= 0:
                cut = Cut(at + len(mark), fence_after(text[: at + len(mark)]))
                part = cut.part(text)
                if self.extends(part) and self.fits(part, overhead, CONTINUES_ROOM):
                    return cut
                at = text.rfind(mark, self.shown_raw, at)
            if self.shown and text[: self.shown_raw].endswith(mark):
                break  # what is shown ends at such a break: better than a finer one later
        return Cut(self.shown_raw, fence_after(text[: self.shown_raw])) if self.shown else None


class PlanUpdates:
    """The plan's title and tasks as they are now, and the updates not sent yet: one per
    status a task went through (so a brief state is still shown), with its latest details."""

    def __init__(self) -> None:
        self.title = ""
        self.sent_title = ""
        self.tasks: dict[str, dict[str, Any]] = {}  # each task as it is now
        self._unsent: list[dict[str, Any]] = []
        self._sending = 0  # how many of `_unsent` a call is sending now (not to replace)

    @property
    def pending(self) -> bool:
        """Whether any task update waits to be sent."""
        return bool(self._unsent)

    def task(self, chunk: dict[str, Any]) -> bool:
        """A task's current `task_update` chunk; False when it changes nothing."""
        task_id = str(chunk["id"])
        if self.tasks.get(task_id) == chunk:
            return False
        self.tasks[task_id] = chunk
        ids = [c["id"] for c in self._unsent]
        last = len(ids) - 1 - ids[::-1].index(task_id) if task_id in ids else None
        unsent = last is not None and last >= self._sending
        if unsent and last is not None and self._unsent[last]["status"] == chunk["status"]:
            self._unsent[last] = chunk  # newer details of a status not shown yet
        else:
            self._unsent.append(chunk)
        return True

    def take(self) -> tuple[list[dict[str, Any]], Callable[[bool], None]]:
        """The chunks to send (a changed title, then the unsent task updates) and what to
        call once the call is over (True: they were sent)."""
        title = self.title if self.title and self.title != self.sent_title else None
        tasks = list(self._unsent)
        self._sending = len(tasks)

        def done(sent: bool) -> None:
            self._sending = 0
            if sent:
                self.sent_title = title or self.sent_title
                del self._unsent[: len(tasks)]  # more may have come during the call

        return ([nb.plan_chunk(title)] if title else []) + tasks, done
