"""Pacing Slack calls: who goes first under a shared limit, on a fake clock (order, not time)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest

from bot.coordination.buckets import MemoryBuckets, Rate
from bot.slack.pacing import Limit, PacedLimit, Pacer, Priority, Turns

URGENT, NORMAL, LOW = Priority.URGENT, Priority.NORMAL, Priority.LOW


class FakeTime:
    """A clock that moves only when the test says so; `sleep` waits for it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken))
        await woken

    async def tick(self, seconds: float) -> None:
        """Let `seconds` pass, waking whoever slept until then."""
        await settle()
        self.now += seconds
        for sleeper in [s for s in self._sleepers if s[0] <= self.now + 1e-9]:
            self._sleepers.remove(sleeper)
            if not sleeper[1].done():
                sleeper[1].set_result(None)
        await settle()

    async def run_until(self, done: Callable[[], bool]) -> None:
        """Move the clock from one wake-up to the next until `done()`."""
        await settle()
        while not done():
            waiting = [deadline for deadline, woken in self._sleepers if not woken.done()]
            assert waiting, "nothing left to wake, yet not done"
            await self.tick(max(0.0, min(waiting) - self.now))


def calls_to(rate: float = 1.0, capacity: float = 1.0) -> Calls:
    """Calls to a bucket of `rate` tokens a second and `capacity`, on a fake clock."""
    time = FakeTime()
    bucket = PacedLimit(
        MemoryBuckets(time.clock), "T1:chat.update", Rate(rate, capacity), time.sleep
    )
    return Calls(bucket, time)


async def settle() -> None:
    """Let every runnable task take its next step."""
    for _ in range(5):
        await asyncio.sleep(0)


class Calls:
    """Calls to one bucket, started in order, recording the order they were let through."""

    def __init__(self, limiter: PacedLimit, time: FakeTime) -> None:
        self.limiter = limiter
        self.time = time
        self.went: list[str] = []
        self.skipped: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def start(
        self,
        name: str,
        priority: Priority = NORMAL,
        turn: str = "",
        coalesce: str | None = None,
    ) -> asyncio.Task[None]:
        async def call() -> None:
            if await self.limiter.acquire(priority, turn, coalesce):
                self.went.append(name)
            else:
                self.skipped.append(name)

        task = asyncio.create_task(call())
        self.tasks.append(task)
        await settle()  # queued before the next one starts
        return task

    async def finish(self) -> None:
        await self.time.run_until(lambda: all(t.done() for t in self.tasks))
        await asyncio.gather(*self.tasks)


async def test_urgent_calls_go_before_waiting_normal_and_low_ones() -> None:
    calls = calls_to()
    await calls.start("first")  # takes the only token at once
    await calls.start("edit 1", LOW)
    await calls.start("root", NORMAL)
    await calls.start("edit 2", LOW)
    await calls.start("answer", URGENT)
    await calls.start("note", URGENT)
    await calls.finish()
    assert calls.went == ["first", "answer", "note", "root", "edit 1", "edit 2"]


async def test_another_person_gets_the_next_turn_behind_one_persons_backlog() -> None:
    calls = calls_to()
    for i in range(20):
        await calls.start(f"a{i}", turn="A")
    await calls.start("b0", turn="B")
    await calls.start("c0", turn="C")
    await calls.start("b1", turn="B")
    await calls.finish()
    # a0 went at once (A's turn); then each person with calls waiting gets one turn a round.
    assert calls.went[:7] == ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]
    assert calls.went[7:] == [f"a{i}" for i in range(4, 20)]


async def test_within_a_round_the_most_urgent_person_goes_first() -> None:
    calls = calls_to()
    await calls.start("a0", turn="A")
    for i in range(1, 5):
        await calls.start(f"a{i}", turn="A")
    await calls.start("b-root", NORMAL, turn="B")
    await calls.start("c-answer", URGENT, turn="C")
    await calls.finish()
    assert calls.went[:4] == ["a0", "c-answer", "b-root", "a1"]


async def test_a_persons_own_answer_goes_before_their_own_waiting_posts() -> None:
    calls = calls_to()
    for i in range(5):
        await calls.start(f"root{i}", turn="A")
    await calls.start("answer", URGENT, turn="A")
    await calls.finish()
    assert calls.went == ["root0", "answer", "root1", "root2", "root3", "root4"]


async def test_a_newer_edit_of_a_message_takes_the_older_ones_place() -> None:
    calls = calls_to()
    await calls.start("first")
    await calls.start("plan X v1", LOW, coalesce="X")
    await calls.start("plan Y v1", LOW, coalesce="Y")
    await calls.start("plan X v2", LOW, coalesce="X")
    await calls.start("plan X v3", LOW, coalesce="X")
    assert calls.limiter.waiting == 2  # one edit per message waits
    await calls.finish()
    assert calls.skipped == ["plan X v1", "plan X v2"]
    # X's latest edit kept X's place in the queue, ahead of Y.
    assert calls.went == ["first", "plan X v3", "plan Y v1"]


async def test_a_final_edit_replacing_a_waiting_one_keeps_the_more_urgent_priority() -> None:
    calls = calls_to()
    await calls.start("first")
    await calls.start("plan Y live", LOW, coalesce="Y")
    await calls.start("plan X live", LOW, coalesce="X")
    await calls.start("plan X final", NORMAL, coalesce="X")
    await calls.finish()
    assert calls.skipped == ["plan X live"]
    assert calls.went == ["first", "plan X final", "plan Y live"]


async def test_low_priority_goes_whenever_nothing_more_urgent_waits() -> None:
    calls = calls_to()
    await calls.start("first")
    await calls.start("edit", LOW)
    await calls.start("answer0", URGENT)
    await calls.time.tick(1)
    await calls.start("answer1", URGENT)  # arrives while the edit waits: goes first
    await calls.time.tick(1)
    await calls.time.tick(1)  # nothing more urgent waits: the edit's turn
    await calls.start("answer2", URGENT)
    await calls.finish()
    assert calls.went == ["first", "answer0", "answer1", "edit", "answer2"]


async def test_tokens_go_out_at_the_rate_after_the_burst() -> None:
    calls = calls_to(rate=2.0, capacity=3)
    for i in range(9):
        await calls.start(f"c{i}", [URGENT, NORMAL, LOW][i % 3], turn=str(i % 2))
    assert len(calls.went) == 3  # the burst, at once
    await calls.finish()
    assert len(calls.went) == 9
    assert calls.time.now == pytest.approx(3.0)  # then two a second


async def test_a_caller_that_gives_up_leaves_the_queue_and_the_next_one_goes() -> None:
    calls = calls_to()
    await calls.start("first")
    leaving = await calls.start("leaves", URGENT)
    await calls.start("stays", LOW)
    leaving.cancel()
    await asyncio.gather(leaving, return_exceptions=True)
    calls.tasks.remove(leaving)
    await calls.finish()
    assert calls.went == ["first", "stays"]
    assert calls.time.now == pytest.approx(1.0)


async def test_when_everyone_gives_up_nothing_keeps_waiting() -> None:
    calls = calls_to()
    await calls.start("first")
    waiting = [await calls.start(f"w{i}", turn=str(i)) for i in range(3)]
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await settle()
    assert calls.limiter.waiting == 0
    assert [t for t in asyncio.all_tasks() if t.get_name() == "slack-pacer"] == []


async def test_turns_in_a_round_follow_priority_then_arrival() -> None:
    loop = asyncio.get_running_loop()
    turns = Turns()
    for turn, priority in [("A", LOW), ("B", NORMAL), ("A", URGENT), ("C", NORMAL)]:
        turns.add(loop.create_future(), priority, turn)
    order = []
    while (ticket := turns.pop()) is not None:
        order.append((ticket.turn, ticket.priority))
    assert order == [("A", URGENT), ("B", NORMAL), ("C", NORMAL), ("A", LOW)]
    assert len(turns) == 0


async def test_pacer_keeps_a_bucket_per_channel_for_posts_and_one_for_edits() -> None:
    time = FakeTime()
    limits = {"chat.postMessage": Limit(1.0, 1), "chat.update": Limit(1.0, 1)}
    pacer = Pacer(limits, time.clock, time.sleep)
    for channel in ("C1", "C2", "C3"):
        assert await pacer.wait("chat.postMessage", channel)  # one channel's limit each
    assert await pacer.wait("chat.update", "C1")
    second = asyncio.create_task(pacer.wait("chat.update", "C2"))
    await time.tick(0.5)
    assert not second.done()  # edits share one limit
    await time.tick(0.5)
    assert await second
    assert await pacer.wait("conversations.history", "C1")  # not limited here


async def test_a_turn_taken_before_the_queue_went_idle_does_not_count_again() -> None:
    calls = calls_to()
    await calls.start("u-root", turn="U")
    await calls.time.tick(10)  # nothing waits for a while
    await calls.start("w-root", turn="W")
    await calls.start("u-plan", turn="U")  # U's first turn of this busy spell: goes first
    await calls.start("v-root", turn="V")
    await calls.finish()
    assert calls.went == ["u-root", "w-root", "u-plan", "v-root"]


async def test_peoples_urgent_calls_take_turns_too() -> None:
    calls = calls_to()
    await calls.start("first", URGENT, turn="A")
    for i in range(3):
        await calls.start(f"a-answer{i}", URGENT, turn="A")
    await calls.start("b-answer", URGENT, turn="B")
    await calls.finish()
    assert calls.went == ["first", "b-answer", "a-answer0", "a-answer1", "a-answer2"]


async def test_replicas_sharing_buckets_stay_under_one_limit_and_keep_their_own_order() -> None:
    time = FakeTime()
    shared = MemoryBuckets(time.clock)  # Redis's twin: one bucket per scope for every replica
    limits = {"chat.postMessage": Limit(1.0, 1), "chat.update": Limit(1.0, 1)}
    a, b = (Pacer(limits, time.clock, time.sleep, shared=shared, team="T1") for _ in "ab")
    went: list[tuple[str, float]] = []

    async def call(pacer: Pacer, name: str, priority: Priority, channel: str = "C1") -> None:
        if await pacer.wait("chat.postMessage", channel, priority=priority):
            went.append((name, time.now))

    tasks = [
        asyncio.create_task(call(a, "a-low", LOW)),
        asyncio.create_task(call(b, "b-normal", NORMAL)),
        asyncio.create_task(call(a, "a-plan", LOW)),
        asyncio.create_task(call(a, "a-answer", URGENT)),
        asyncio.create_task(call(b, "b-other-channel", LOW, channel="C2")),
    ]
    await time.run_until(lambda: all(t.done() for t in tasks))
    times = sorted(at for name, at in went if name != "b-other-channel")
    # One post a second in C1 across both replicas; C2 has its own bucket.
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
    assert ("b-other-channel", 0.0) in went
    # Each replica still sends its own most urgent call first.
    order_a = [name for name, _ in went if name.startswith("a-")]
    assert order_a.index("a-answer") < order_a.index("a-plan")
    assert await a.wait("chat.update", "C9")
    edit = asyncio.create_task(b.wait("chat.update", "C8"))  # edits: one workspace bucket
    await time.tick(0.5)
    assert not edit.done()
    await time.tick(0.5)
    assert await edit


async def test_a_call_made_while_the_pump_is_being_cancelled_still_gets_its_token() -> None:
    # A shutting-down loop cancels every task, the pump among them; a cancelled run's
    # clean-up then asks for a token before the old pump has ended. It used to wait for ever
    # (a CI run hung in the soak test's teardown).
    bucket = PacedLimit(MemoryBuckets(), "T1:chat.update", Rate(per_second=100, burst=1))
    assert await bucket.acquire()  # the burst
    first = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)  # it waits, and the pump runs
    pump = bucket._pump
    assert pump is not None
    pump.cancel()
    first.cancel()
    async with asyncio.timeout(2):
        assert await bucket.acquire()


async def test_the_pacer_forgets_limits_nobody_waits_under_but_keeps_the_busy_ones() -> None:
    time = FakeTime()
    pacer = Pacer({"chat.postMessage": Limit(per_second=1.0, burst=1)}, time.clock, time.sleep)
    busy = [asyncio.create_task(pacer.wait("chat.postMessage", "C-busy")) for _ in range(3)]
    await settle()
    assert pacer.waiting("chat.postMessage", "C-busy") == 2  # one went, two wait
    for channel in range(5000):  # one post in each of 5,000 channels
        assert await pacer.wait("chat.postMessage", f"C{channel}")
    assert len(pacer._buckets) <= 2 * 1024 + 1
    assert pacer.waiting("chat.postMessage", "C-busy") == 2  # kept: its calls still wait
    await time.run_until(lambda: all(task.done() for task in busy))
    assert all(task.result() for task in busy)
