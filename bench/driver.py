"""Talking to the app as Slack does (signed requests) and watching the fake Slack for what
people would see: the final answer of each run in its thread."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp

from sandbox.fakes import signing
from sandbox.fakes.slack import FakeSlack, StateChange

SECRET = "bench-signing-secret"  # noqa: S105 - the benchmark world's own secret
FOOTER_MARK = "subtasks done"  # every answer's (and error's) footer says "n/m subtasks done"


class RunFailed(RuntimeError):
    """A run ended without the scripted answer."""


@contextlib.contextmanager
def driver_gc_paused() -> Iterator[None]:
    """No garbage collection in this process (the load driver and both fakes) for the block.

    A full collection here takes 150-400 ms on a 2-core machine (the fakes record every
    call), and it would be timed as the app's: requests not sent, answers not seen, fake
    replies not given. Collected just before, so the block starts clean; only for short
    timed blocks (seconds), as nothing is collected meanwhile."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class Signed:
    """A slash command ready to send: its body and headers."""

    body: str
    headers: dict[str, str]


def signed_command(slack: FakeSlack, text: str, *, user: str, channel: str) -> Signed:
    """`/research <text>` as Slack would POST it, signed now."""
    body, kind = signing.slash_command(
        command="/research", text=text, user=user, channel=channel, response_url=slack.response_url
    )
    return Signed(body, {"Content-Type": kind, **signing.sign(SECRET, body)})


async def send(http: aiohttp.ClientSession, app_url: str, request: Signed) -> float:
    """POST a signed request; returns the seconds until the app's response (its ack)."""
    started = time.perf_counter()
    async with http.post(
        f"{app_url}/slack/events", data=request.body, headers=request.headers
    ) as r:
        await r.read()
        if r.status != 200:
            raise RunFailed(f"the app answered {r.status} to a signed request")
    return time.perf_counter() - started


@dataclass
class AnswerWatch:
    """Notes the moment each run's final answer becomes visible in its thread."""

    slack: FakeSlack
    expected_text: str
    answered: dict[tuple[str, str], float] = field(default_factory=dict)  # (channel, root) -> t
    _queue: asyncio.Queue[StateChange] = field(init=False)

    def __post_init__(self) -> None:
        self._queue = self.slack.subscribe()

    def close(self) -> None:
        """Stop watching."""
        self.slack.unsubscribe(self._queue)

    def _check(self, change: StateChange) -> None:
        # The answer grows in its message: its footer may come with a post or with an edit.
        if change.kind not in ("posted", "updated") or change.thread_ts in (None, change.ts):
            return
        message = self.slack.find(change.channel, change.ts)
        if message is None:
            return
        text = message.visible_text()
        if FOOTER_MARK not in text:
            return
        if self.expected_text not in text:
            raise RunFailed(f"a run ended without its answer: {text[:300]}")
        assert change.thread_ts is not None
        self.answered.setdefault((change.channel, change.thread_ts), time.perf_counter())

    async def wait(self, count: int, within: float) -> None:
        """Wait until `count` runs have answered (change notifications, no polling)."""
        async with asyncio.timeout(within):
            while len(self.answered) < count:
                self._check(await self._queue.get())
