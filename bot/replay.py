"""Refusing replayed Slack requests: a signed request is accepted once.

Bolt checks the signature and the 5-minute window; within that window a captured request
could be sent again and, for commands, start a second run. Slack signs every delivery
afresh (its retries included), so a repeated signature is a replay."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

WINDOW_S = 5 * 60  # Bolt rejects older timestamps, so older signatures need not be kept

Next = Callable[[], Awaitable[BoltResponse]]


class ReplayGuard:
    """Bolt middleware remembering the signatures seen in the last `WINDOW_S` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._clock = clock
        self._limit = limit

    def first_time(self, signature: str) -> bool:
        """True the first time `signature` is seen within the window."""
        now = self._clock()
        while self._seen and (
            next(iter(self._seen.values())) < now - WINDOW_S or len(self._seen) > self._limit
        ):
            self._seen.popitem(last=False)
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True

    async def __call__(self, req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
        """Runs after Bolt's signature check: only valid signatures reach it."""
        signature = req.headers.get("x-slack-signature", [""])[0]
        if signature and not self.first_time(signature):
            return BoltResponse(status=401, body='{"error": "replayed request"}')
        return await next()
