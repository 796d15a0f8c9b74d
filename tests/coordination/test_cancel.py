"""Cancel across replicas on a real Redis: published on one, handled by the other within a
second; a bad message or a failing handler does not stop the listener; it comes back after
its connection is cut."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from bot.coordination import RedisDown, RedisLink
from bot.coordination.cancel import LocalCancelBus, RedisCancelBus
from tests.coordination.conftest import REDIS_URL, LinkFactory


class Handler:
    """Records each Cancel with when it arrived; `raises` makes it fail for one run id."""

    def __init__(self, raises: str | None = None) -> None:
        self.got: list[tuple[str, str, float]] = []
        self.arrived = asyncio.Event()
        self.raises = raises

    def __call__(self, run_id: str, by: str) -> bool:
        if run_id == self.raises:
            raise RuntimeError("this run cannot be cancelled")
        self.got.append((run_id, by, time.monotonic()))
        self.arrived.set()
        return True

    async def next(self, within: float = 1.0) -> tuple[str, str, float]:
        async with asyncio.timeout(within):
            await self.arrived.wait()
        self.arrived.clear()
        return self.got[-1]


async def test_a_cancel_published_on_one_replica_reaches_the_other_within_a_second(
    new_link: LinkFactory,
) -> None:
    clicked_on, owner = RedisCancelBus(new_link()), RedisCancelBus(new_link())
    handler = Handler()
    async with owner.listening(handler):
        sent = time.monotonic()
        await clicked_on.publish("r-1", "U5")
        run_id, by, arrived = await handler.next(within=1.0)
    assert (run_id, by) == ("r-1", "U5")
    assert arrived - sent < 1.0


async def test_every_listening_replica_hears_a_cancel(new_link: LinkFactory) -> None:
    buses = [RedisCancelBus(new_link()) for _ in range(3)]
    handlers = [Handler() for _ in buses]
    async with (
        buses[0].listening(handlers[0]),
        buses[1].listening(handlers[1]),
        buses[2].listening(handlers[2]),
    ):
        await buses[0].publish("r-2", "U1")
        for handler in handlers:
            assert (await handler.next())[:2] == ("r-2", "U1")


async def test_a_malformed_message_or_a_failing_handler_does_not_stop_the_listener(
    new_link: LinkFactory,
) -> None:
    link = new_link()
    bus, handler = RedisCancelBus(link), Handler(raises="r-bad")
    async with bus.listening(handler):
        await link.client.publish(bus.channel, "not json")
        await link.client.publish(bus.channel, '{"run_id": "r-x"}')  # no "by"
        await bus.publish("r-bad", "U1")
        await bus.publish("r-3", "U1")
        assert (await handler.next())[:2] == ("r-3", "U1")
    assert [got[0] for got in handler.got] == ["r-3"]


async def test_the_listener_subscribes_again_after_its_connection_is_cut(
    link: RedisLink, prefix: str
) -> None:
    name = "listener-" + prefix.split(":")[1]
    listener = RedisLink.from_url(REDIS_URL, prefix=prefix, name=name)
    bus = RedisCancelBus(listener, resubscribe_s=0.1)
    handler = Handler()
    try:
        async with bus.listening(handler):
            # Cut this test's subscriber only (other tests may share the server).
            subscribers = await link.client.client_list(_type="pubsub")
            ours = [client for client in subscribers if client["name"] == name]
            assert len(ours) == 1
            await link.client.client_kill_filter(_id=ours[0]["id"])
            async with asyncio.timeout(5):
                # Polling on purpose: nothing tells an outsider when a client subscribed.
                while await link.client.pubsub_numsub(bus.channel) != [(bus.channel, 1)]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await RedisCancelBus(link).publish("r-4", "U1")
            assert (await handler.next())[:2] == ("r-4", "U1")
    finally:
        await listener.close()


async def test_publishing_with_redis_down_says_so(dead_link: RedisLink) -> None:
    with pytest.raises(RedisDown):
        await RedisCancelBus(dead_link).publish("r-5", "U1")


async def test_a_listener_starts_even_while_redis_is_down(dead_link: RedisLink) -> None:
    started = time.monotonic()
    async with RedisCancelBus(dead_link, resubscribe_s=0.05).listening(Handler()):
        await asyncio.sleep(0.2)  # it keeps trying, quietly, in the background
    assert time.monotonic() - started < 2.5


async def test_one_process_hands_a_cancel_to_its_own_handler_while_listening() -> None:
    bus, handler = LocalCancelBus(), Handler()
    await bus.publish("r-6", "U1")  # nobody listening: nothing happens
    async with bus.listening(handler):
        await bus.publish("r-7", "U2")
    await bus.publish("r-8", "U3")
    assert [got[:2] for got in handler.got] == [("r-7", "U2")]


async def test_a_listener_stopped_at_any_moment_stops_whatever_redis_py_does(
    link: RedisLink,
) -> None:
    # redis-py 8.2 can swallow a cancellation that reaches it mid-command (its issues 2028,
    # 2551; `RedisLink.run` raises it again). The listener's subscribe and reads are its own
    # calls: a swallowed cancel left it listening for ever, and the replica's shutdown
    # waited on it. Stopped at moments spread over its start and its reads, it must stop.
    rng = random.Random(11)
    bus = RedisCancelBus(link, resubscribe_s=0.05)
    for _ in range(300):
        task = asyncio.create_task(bus._listen(Handler(), asyncio.Event()))
        await asyncio.sleep(rng.random() * 0.003)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "a cancelled listener went on listening"
