"""Pure: what a streamed message holds and what it may hold next: its plan (`PlanUpdates`)
and its answer text (`StreamedText`).

Streamed text cannot be taken back, so the stream only ever shows a prefix of the answer's
final rendering: whole words (`streamable`), rendered safe (`native_blocks.render`), and
only while the new rendering still starts with what is shown (a retried answer starts over;
then nothing more is streamed and the end replaces the message). Near the message's limit
the text grows by whole paragraphs, so that an answer too long for one streamed message is
cut between two of them (a code block open at the cut is closed, and reopened below).
How a stream still streaming ends (`stream_end`) is decided here too; the stream
(`bot.thread.native_stream`) only carries it out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.render import native as nb
from bot.render import notes
from bot.render.text import STREAM_BUDGET
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
        # What the stream holds is not known (a write whose answer was lost): nothing more is
        # added, and the end replaces the message.
        self.unsure = False

    def lost(self) -> None:
        """A write of text may or may not have landed."""
        self.unsure = self.held = True

    def fits(self, rendered: str, overhead: int, room: int = 0) -> bool:
        """Whether a message holding `rendered` stays within the budget, `room` to spare."""
        return overhead + len(rendered.encode()) + room <= STREAM_BUDGET

    def extends(self, rendered: str) -> bool:
        """Whether `rendered` starts with what is shown (so the difference may be added)."""
        return not self.unsure and rendered.startswith(self.shown)

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
        the next one found); None when nothing is shown and nothing fits.

        The breaks are tried by halving, as if a longer part never fitted where a shorter
        did not (the rendering grows with the text but where a link is completed): each try
        renders up to the whole room, and trying them one by one from the last rendered it
        hundreds of times (1.9 s on a run of line breaks, whose last hundreds are too long)."""
        # Rendering never shortens text, so no cut past what the room left could fit.
        room = STREAM_BUDGET - overhead - len(self.shown.encode())
        limit = min(limit, self.shown_raw + max(0, room) + 1)
        for mark in marks:
            ends = []  # where the part would end, latest first
            at = text.rfind(mark, self.shown_raw, limit)
            while at >= 0:
                ends.append(at + len(mark))
                at = text.rfind(mark, self.shown_raw, at)
            found = self._latest_fitting(text, ends, overhead)
            if found is not None:
                return found
            if self.shown and text[: self.shown_raw].endswith(mark):
                break  # what is shown ends at such a break: better than a finer one later
        return Cut(self.shown_raw, fence_after(text[: self.shown_raw])) if self.shown else None

    def _latest_fitting(self, text: str, ends: list[int], overhead: int) -> Cut | None:
        """The cut at the first of `ends` (latest first) whose part extends what is shown and
        fits, by halving after the first: about log2(len(ends)) renderings, not len(ends)."""

        def tried(end: int) -> Cut | None:
            cut = Cut(end, fence_after(text[:end]))
            part = cut.part(text)
            ok = self.extends(part) and self.fits(part, overhead, CONTINUES_ROOM)
            return cut if ok else None

        best = tried(ends[0]) if ends else None
        if best is not None:
            return best
        low, high = 1, len(ends)  # the answer's index is in [low, high]; high: none fits
        while low < high:
            middle = (low + high) // 2
            cut = tried(ends[middle])
            if cut is not None:
                best, high = cut, middle
            else:
                low = middle + 1
        return best


@dataclass(frozen=True)
class StreamEnd:
    """How a stream that still streams ends. Stopped with `tail` (the text it takes last)
    and, when `closing`, the ending's closing blocks; `rest` (raw, None: nothing) continues
    below in ordinary messages. `replace`: what the stream shows is no prefix of the answer
    (a retried answer, a rendering that changed), and streamed text cannot be taken back:
    it is stopped bare and its message edited to the end instead."""

    tail: str = ""
    closing: bool = True
    rest: str | None = None
    replace: bool = False


def stream_end(
    text: StreamedText, ending: str, *, append: bool, cut_limit: int | None, overhead: int
) -> StreamEnd:
    """How to end a stream holding `text` with `ending`: a note after what it shows
    (`append`), else the answer (its Sources list after `cut_limit`) whole when it fits,
    else cut at a break at or before `cut_limit` with a line that it continues below.
    `overhead`: what the message shows besides the text (its plan's title and tasks)."""
    shown = text.shown
    if append:
        gap = "" if not shown or shown.endswith("\n\n") else "\n\n"
        return StreamEnd(gap + ending)
    full = nb.render(ending)
    if text.extends(full) and text.fits(full, overhead):
        return StreamEnd(full[len(shown) :])
    whole = ending[:cut_limit] if cut_limit is not None else ending
    cut = text.cut(ending, len(whole), overhead) or Cut(0, None)
    part = cut.part(ending)
    if not text.extends(full) or not text.extends(part):
        return StreamEnd(closing=False, replace=True)
    note = notes.ANSWER_CONTINUES if part else notes.ANSWER_BELOW
    gap = "" if not part or part.endswith("\n\n") else "\n\n"
    return StreamEnd(
        part[len(shown) :] + gap + note, closing=False, rest=cut.rest(ending, len(whole))
    )


class PlanUpdates:
    """The plan's title and tasks as they are now, and the updates not sent yet: one per
    status a task went through (so a brief state is still shown), with its latest details.

    Slack refuses a whole write for one chunk it dislikes (`refused`); sent again as it was,
    that chunk would hold back every later write. So the chunks of a refused write are sent
    one at a time, and one refused alone is sent once more shortened, then dropped."""

    def __init__(self) -> None:
        self.title = ""
        self.sent_title = ""
        self.tasks: dict[str, dict[str, Any]] = {}  # each task as it is now
        self._unsent: list[dict[str, Any]] = []
        self._in_flight: list[dict[str, Any]] = []  # what a call is sending now (not to replace)
        self._title_in_flight: str | None = None
        # Keys (a task's id; "" for the title) of chunks in a refused write: sent one at a time.
        self._suspect: set[str] = set()
        # Keys of chunks refused alone once: sent shortened (`native_blocks.shortened`).
        self._shortened: set[str] = set()

    @property
    def pending(self) -> bool:
        """Whether any task update waits to be sent."""
        return bool(self._unsent)

    @property
    def isolating(self) -> bool:
        """Whether a refused write's chunks are being sent one at a time (nothing goes with
        them, the answer's text neither)."""
        return bool(self._suspect)

    def task(self, chunk: dict[str, Any]) -> bool:
        """A task's current `task_update` chunk; False when it changes nothing."""
        task_id = str(chunk["id"])
        if self.tasks.get(task_id) == chunk:
            return False
        self.tasks[task_id] = chunk
        last = next(
            (i for i in reversed(range(len(self._unsent))) if self._unsent[i]["id"] == task_id),
            None,
        )
        waiting = last is not None and not any(self._unsent[last] is c for c in self._in_flight)
        if waiting and last is not None and self._unsent[last]["status"] == chunk["status"]:
            self._unsent[last] = chunk  # newer details of a status not shown yet
        else:
            self._unsent.append(chunk)
        return True

    def take(self, *, whole: bool = False) -> tuple[list[dict[str, Any]], Callable[[bool], None]]:
        """The chunks to send (a changed title, then the unsent task updates; only one of a
        refused write's, unless `whole`) and what to call once the call is over (True: they
        were sent)."""
        title = self.title if self.title and self.title != self.sent_title else None
        ids = {str(c["id"]) for c in self._unsent}
        self._suspect = {k for k in self._suspect if (k == "" and title) or k in ids}
        tasks = list(self._unsent)
        if self._suspect and not whole:
            if "" in self._suspect:
                tasks = []
            else:
                title = None
                tasks = [next(c for c in self._unsent if str(c["id"]) in self._suspect)]
        self._in_flight, self._title_in_flight = tasks, title
        chunks = ([nb.plan_chunk(title)] if title else []) + tasks
        keys = [""] if title else []
        keys += [str(c["id"]) for c in tasks]
        chunks = [
            nb.shortened(c) if k in self._shortened else c
            for k, c in zip(keys, chunks, strict=True)
        ]

        def done(sent: bool) -> None:
            self._in_flight, self._title_in_flight = [], None
            if not sent:
                return
            self.sent_title = title or self.sent_title
            for chunk in tasks:  # more may have come during the call
                self._drop(chunk)
            self._suspect -= set(keys)
            self._shortened -= set(keys)

        return chunks, done

    def refused(self) -> None:
        """Slack refused the chunks being sent (call before their `done`): if several, they go
        one at a time from now on; if one, it goes once more shortened, then is dropped."""
        keys = ([""] if self._title_in_flight else []) + [str(c["id"]) for c in self._in_flight]
        if len(keys) != 1:
            self._suspect |= set(keys)
            return
        key = keys[0]
        if key not in self._shortened:
            self._shortened.add(key)
            self._suspect.add(key)
            return
        self._shortened.discard(key)
        self._suspect.discard(key)
        if self._title_in_flight:
            self.sent_title = self._title_in_flight  # dropped: the next title change is sent
        else:
            self._drop(self._in_flight[0])

    def _drop(self, chunk: dict[str, Any]) -> None:
        index = next((i for i, c in enumerate(self._unsent) if c is chunk), None)
        if index is not None:
            del self._unsent[index]
