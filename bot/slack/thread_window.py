"""Pure: which `conversations.replies` calls find a thread's newest messages before a point.

Slack's `conversations.replies` (docs.slack.dev, read 2026-12) pages a thread oldest first:
the parent, then replies in order, `limit` at a time (default and maximum 1,000 at Tier 3;
both 15, at one request a minute, for apps distributed outside the Marketplace since
2026-03), a cursor going on to newer ones. `oldest` and `latest` bound the time range
(`inclusive` takes in both ends) and the parent still comes first. There is no newest-first
order, so reading from the start to find the newest replies costs one call per page of the
whole thread (a 2,500-reply thread: ten calls at 200, and then only its first 2,000).

Instead: one call for the whole thread (most threads fit it: done). Past one page, time
windows ending at the point, sized from the thread's pace (its parent's `reply_count` and
`latest_reply`, then what each window held) to hold the wanted messages with room to spare
but fewer than a page: a window too thin is followed by the one before it (four times as long
when it held nothing), a full one by one nearer the point, and what is left is read whole
once the parent's count says it fits a page. A thread of even pace takes two calls however
long it is; the calls are bounded, and running out gives the newest messages found so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]
_MICROS = 1_000_000
_BIG = 1_000  # the largest page asked for (Slack caps it at its own maximum)
SMALL_PAGE = 15  # Slack's page outside the Marketplace (and one call a minute)
_OPEN = 2**62  # the end of a range that runs to now


def micros(ts: str) -> int:
    """A Slack timestamp (`"1700000000.000100"`) as integer microseconds (floats would round
    away the last digits Slack uses to tell messages apart)."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * _MICROS + int((fraction + "000000")[:6])


def slack_ts(value: int) -> str:
    """Integer microseconds as a Slack timestamp."""
    return f"{value // _MICROS}.{value % _MICROS:06d}"


@dataclass(frozen=True)
class Call:
    """One `conversations.replies` call: its time range (None: open) and page size."""

    oldest: str | None
    latest: str | None
    inclusive: bool
    limit: int


class NewestMessages:
    """The newest `want` messages of a thread before `before` (a ts; None: all of them).

    Use: `while (call := reading.next_call()) is not None: reading.took(call, messages,
    has_more)`, then `reading.result()` (oldest first)."""

    def __init__(self, thread_ts: str, before: str | None, want: int, max_calls: int) -> None:
        self._thread = micros(thread_ts)
        self._before = micros(before) if before is not None else None
        self._want = want
        self._calls_left = max_calls
        self._known: dict[int, Message] = {}  # by ts, every message seen before `before`
        # Ranges [start, end] (microseconds) all of whose messages are in `_known`.
        self._ranges: list[tuple[int, int]] = []
        self._page = _BIG  # messages a page holds, the parent included (learnt when full)
        self._pace: float | None = None  # messages per microsecond, as last seen
        self._span = 0  # the last window's length (one with nothing in it: four times as long)
        self._end = 0  # the thread's last message as far as known (when `before` is None)
        self._replies: int | None = None  # the parent's `reply_count`, once seen
        self._started = False

    # --- what to ask next ---------------------------------------------------------------

    def next_call(self) -> Call | None:
        """The next call to make; None when the result is known (or the calls ran out)."""
        if self._calls_left <= 0 or (self._started and self._done()):
            return None
        self._calls_left -= 1
        if not self._started:
            return Call(None, self._latest(self._ceiling()), False, _BIG)
        if self._page <= SMALL_PAGE:
            # Slack's smaller pages come at one call a minute: one window, the newest page.
            self._calls_left = 0
        top, floor = self._gap()
        need = max(1, self._want - len(self._newest_run()))
        # Aim between what is needed and a full page: a pace misjudged either way (the
        # thread busier or quieter near the end) still mostly lands in one window.
        aim = min(self._page - 2, max(need, round(math.sqrt(need * (self._page - 1)))))
        left = self._unseen()
        anchor = top if top < _OPEN else self._end  # (no `before`: the thread's last)
        if left is not None and left <= self._page - 2:
            oldest = floor  # what is left fits one page: all of it
        elif self._pace:
            # Where the unseen messages end if they go on at this pace from the floor up
            # (a busy stretch long before a quiet end: its end, not the quiet top).
            end = anchor if left is None else min(anchor, floor + round(left / self._pace))
            oldest = max(floor, end - max(1, round(aim / self._pace)))
        else:  # the last window was empty: one four times as long, else all that is left
            oldest = max(floor, anchor - 4 * self._span) if self._span else floor
        self._span = max(1, anchor - oldest)
        return Call(slack_ts(oldest), self._latest(top), True, _BIG)

    def took(self, call: Call, messages: list[Message], has_more: bool) -> None:
        """What `call` returned: `messages` as Slack gave them (the parent first)."""
        seen = [(micros(m["ts"]), m) for m in messages if isinstance(m.get("ts"), str)]
        seen.sort(key=lambda pair: pair[0])
        if has_more:
            self._page = max(3, len(messages))
        for at, message in seen:
            if at < self._ceiling():
                self._known[at] = message
        times = [at for at, _ in seen]
        if times:
            self._end = max(self._end, min(times[-1], self._ceiling()))
        low = micros(call.oldest) if call.oldest is not None else -1
        high = times[-1] if has_more and times else self._ceiling()
        if call.latest is not None and not has_more:
            high = micros(call.latest)
        self._ranges.append((low, high))
        if not self._started:
            self._started = True
            self._pace = self._thread_pace(messages, high)
            return
        count = len([at for at in times if low <= at <= high and at < self._ceiling()])
        self._pace = count / max(1, high - low) if count else None

    # --- what is known ------------------------------------------------------------------

    def result(self) -> list[Message]:
        """The newest `want` messages known before `before`, oldest first."""
        times = self._newest_run() if self._top_range() is not None else sorted(self._known)
        return [self._known[at] for at in times[-self._want :]] if self._want > 0 else []

    def _ceiling(self) -> int:
        return self._before if self._before is not None else _OPEN

    def _latest(self, top: int) -> str | None:
        """`latest` for a window ending at `top` (None: up to now)."""
        return None if top >= _OPEN else slack_ts(top)

    def _merged(self) -> list[tuple[int, int]]:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(self._ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def _top_range(self) -> tuple[int, int] | None:
        """The known range that reaches `before`, if any."""
        merged = self._merged()
        return merged[-1] if merged and merged[-1][1] >= self._ceiling() else None

    def _newest_run(self) -> list[int]:
        """The messages of the known range that reaches `before`, oldest first."""
        top = self._top_range()
        return [] if top is None else sorted(at for at in self._known if at >= top[0])

    def _done(self) -> bool:
        top = self._top_range()
        return top is not None and (top[0] < 0 or len(self._newest_run()) >= self._want)

    def _gap(self) -> tuple[int, int]:
        """The unknown stretch just below what is known up to `before`: its top and its
        floor (the end of the nearest known range below it)."""
        top_range = self._top_range()
        top = top_range[0] if top_range is not None else self._ceiling()
        below = [end for _, end in self._merged() if end < top]
        return top, max(below) if below else self._thread

    def _unseen(self) -> int | None:
        """At most how many replies are still unseen before `before` (None: not known), from
        the parent's `reply_count` (which counts later replies too: an upper bound)."""
        if self._replies is None:
            return None
        seen = [at for at in self._known if at != self._thread]
        return max(0, self._replies - len(seen))

    def _thread_pace(self, messages: list[Message], known_to: int) -> float | None:
        """Replies per microsecond after `known_to`, from the parent's `reply_count` and
        `latest_reply` (Slack's thread fields), else from the first page itself."""
        parent = next((m for m in messages if m.get("ts") == slack_ts(self._thread)), None)
        first = sorted(
            micros(m["ts"]) for m in messages if m is not parent and isinstance(m.get("ts"), str)
        )
        if parent is not None and isinstance(parent.get("reply_count"), int):
            self._replies = parent["reply_count"]
        if parent is not None and isinstance(parent.get("latest_reply"), str):
            latest = micros(parent["latest_reply"])
            self._end = max(self._end, min(latest, self._ceiling()))
            left = int(parent.get("reply_count") or 0) - len(first)
            if left > 0 and latest > known_to:
                return left / (latest - known_to)
        if len(first) >= 2 and first[-1] > first[0]:
            return (len(first) - 1) / (first[-1] - first[0])
        return None
