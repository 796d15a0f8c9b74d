"""Refusing replayed Slack requests: a signed request is accepted once.

The signature check accepts a request for 5 minutes after its timestamp; within that window
a captured request could be sent again and, for commands, start a second run. Slack signs
every delivery afresh (its retries included), so a repeated signature is a replay."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

WINDOW_S = 5 * 60  # older timestamps fail the signature check, so older signatures need not be kept


class ReplayGuard:
    """The signatures seen in the last `WINDOW_S` seconds (at most `limit` of them)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._clock = clock
        self._limit = limit

    def first_time(self, signature: str) -> bool:
        """True the first time `signature` is seen within the window.

        Call it only for signatures already verified: an unsigned flood must not fill it."""
        now = self._clock()
        while self._seen and (
            next(iter(self._seen.values())) < now - WINDOW_S or len(self._seen) > self._limit
        ):
            self._seen.popitem(last=False)
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True
