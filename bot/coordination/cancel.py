"""Cancel across replicas: the replica that receives a Cancel click publishes it; the replica
that owns the live run (every replica listens) cancels it.

The click's replica has already checked, against the run store (the truth of who asked and
whether the run is live), that this click may cancel the run; a message on the channel is
an instruction between our own replicas, not a request from outside. Redis pub/sub
delivers to whoever listens at that moment, in milliseconds, and keeps nothing: a replica
that is down has no run to cancel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from redis.exceptions import RedisError

from bot.coordination.link import (
    TIMEOUT_S,
    RedisLink,
    cancel_requests,
    raise_if_cancelled_since,
)

logger = logging.getLogger(__name__)

# (run_id, who clicked) -> whether this process had the run (ignored: one replica does)
CancelHandler = Callable[[str, str], object]

# A listener waits this long for a message before checking its connection again.
_POLL_S = 1.0
# Between attempts to subscribe again after Redis went away.
RESUBSCRIBE_S = 1.0


class CancelBus(Protocol):
    """Carries a Cancel from the replica that received the click to the one that owns the run."""

    async def publish(self, run_id: str, by: str) -> None:
        """Ask whichever replica owns `run_id` to cancel it (`RedisDown` if it cannot)."""
        ...

    def listening(self, handler: CancelHandler) -> AbstractAsyncContextManager[None]:
        """While inside, every published Cancel is handed to `handler`."""
        ...


class LocalCancelBus:
    """One process: a Cancel is handled where it is clicked."""

    def __init__(self) -> None:
        self._handlers: list[CancelHandler] = []

    async def publish(self, run_id: str, by: str) -> None:
        """Hand the Cancel to this process's handler."""
        for handler in list(self._handlers):
            handler(run_id, by)

    @contextlib.asynccontextmanager
    async def listening(self, handler: CancelHandler) -> AsyncIterator[None]:
        """`handler` gets this process's Cancels while inside."""
        self._handlers.append(handler)
        try:
            yield
        finally:
            self._handlers.remove(handler)


class RedisCancelBus:
    """A Redis pub/sub channel shared by every replica of the deployment."""

    def __init__(self, link: RedisLink, *, resubscribe_s: float = RESUBSCRIBE_S) -> None:
        self._link = link
        self.channel = link.key("cancel")
        self._resubscribe_s = resubscribe_s

    async def publish(self, run_id: str, by: str) -> None:
        """Send the Cancel to every listening replica."""
        payload = json.dumps({"run_id": run_id, "by": by})
        await self._link.run(lambda r: r.publish(self.channel, payload))

    @contextlib.asynccontextmanager
    async def listening(self, handler: CancelHandler) -> AsyncIterator[None]:
        """Listen on the channel (a tracked task, resubscribing after outages) while inside."""
        subscribed = asyncio.Event()
        task = asyncio.create_task(self._listen(handler, subscribed), name="cancel-listener")
        try:
            # Briefly wait for the subscription, so that a Cancel right after start-up is not
            # missed; with Redis down, go on: the task keeps trying.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TIMEOUT_S * 2):
                    await subscribed.wait()
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _listen(self, handler: CancelHandler, subscribed: asyncio.Event) -> None:
        # The pub/sub calls are redis-py's own, not `RedisLink.run`'s: a cancel they swallow
        # (see `raise_if_cancelled_since`) is raised again here, or the listener would go on
        # listening and a replica's shutdown wait for it for ever.
        cancels = cancel_requests()
        while True:
            pubsub = self._link.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                raise_if_cancelled_since(cancels)
                subscribed.set()
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_POLL_S
                    )
                    raise_if_cancelled_since(cancels)
                    if message is not None:
                        _deliver(message, handler)
            except (RedisError, OSError) as exc:
                raise_if_cancelled_since(cancels)
                self._link.failed()
                logger.warning(
                    "cancel listener: Redis is unreachable (%s); subscribing again in %.0f s",
                    type(exc).__name__,
                    self._resubscribe_s,
                )
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(self._resubscribe_s)


def _deliver(message: dict[str, Any], handler: CancelHandler) -> None:
    """Hand one message to `handler`; a malformed one is logged and dropped."""
    try:
        fields = json.loads(message["data"])
        run_id, by = str(fields["run_id"]), str(fields["by"])
    except (ValueError, TypeError, KeyError):
        logger.warning("cancel listener: ignored a malformed message")
        return
    try:
        if handler(run_id, by):
            logger.info("run cancelled by %s from another replica [run_id=%s]", by, run_id)
    except Exception:
        # A task boundary: one bad Cancel must not stop this replica hearing the next.
        logger.exception("cancel listener: cancelling failed [run_id=%s]", run_id)
