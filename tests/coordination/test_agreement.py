"""The Lua and the Python agree (issue 21.4): one table of cases runs through Redis's scripts
(`RedisBuckets`, `RedisSlots`, on the real Redis at 127.0.0.1:6379) and through their
in-memory twins (`MemoryBuckets`, `MemorySlots`, which one process uses), and both give
the case's answers. The memory side runs on a clock that does not move; the cases use slow
rates, so the few milliseconds Redis's clock moves between calls change no answer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.coordination import Rate
from bot.coordination.buckets import MemoryBuckets, RateBuckets, RedisBuckets
from bot.coordination.slots import MemorySlots, RedisSlots, SharedSlots
from tests.coordination.conftest import LinkFactory

# --- token buckets ---------------------------------------------------------------------


@dataclass(frozen=True)
class BucketCase:
    """Takes in order, each (scope, rate); `waits` is what each answers (0: a token)."""

    takes: tuple[tuple[str, Rate], ...]
    waits: tuple[float, ...]


SLOW = Rate(per_second=0.5, burst=2)  # a token every 2 s: no refill within a test
ONE = Rate(per_second=0.25, burst=1)

BUCKET_CASES = {
    "a full bucket gives its burst, then says how long": BucketCase(
        ((("s", SLOW),) * 3), (0.0, 0.0, 2.0)
    ),
    "asking again takes nothing": BucketCase(((("s", ONE),) * 3), (0.0, 4.0, 4.0)),
    "scopes are apart": BucketCase(
        (("T1:chat.update", ONE), ("T2:chat.update", ONE), ("T1:chat.update", ONE)),
        (0.0, 0.0, 4.0),
    ),
    "a burst of three then one more": BucketCase(
        ((("s", Rate(per_second=0.1, burst=3)),) * 4), (0.0, 0.0, 0.0, 10.0)
    ),
}


async def _bucket_answers(buckets: RateBuckets, case: BucketCase) -> list[float]:
    return [await buckets.take(scope, rate) for scope, rate in case.takes]


@pytest.mark.parametrize("name", list(BUCKET_CASES))
async def test_the_lua_and_the_python_buckets_agree(name: str, new_link: LinkFactory) -> None:
    case = BUCKET_CASES[name]
    memory = await _bucket_answers(MemoryBuckets(clock=lambda: 100.0), case)
    redis = await _bucket_answers(RedisBuckets(new_link()), case)
    assert memory == pytest.approx(list(case.waits))
    assert redis == pytest.approx(memory, abs=0.05)


# --- live-run slots and their fair queue -------------------------------------------------

# An operation: ("take", run, person, cap[, workspace]) answers -1 when the run holds a slot,
# else how many runs start before it; ("give", run[, workspace]) answers None.
Op = tuple[object, ...]

SLOT_CASES: dict[str, tuple[tuple[Op, object], ...]] = {
    "runs start while the cap allows, then queue": (
        (("take", "a1", "ana", 2), -1),
        (("take", "b1", "bo", 2), -1),
        (("take", "c1", "cy", 2), 0),
        (("take", "d1", "di", 2), 1),
    ),
    "asking again keeps the slot and the place": (
        (("take", "a1", "ana", 1), -1),
        (("take", "a1", "ana", 1), -1),
        (("take", "b1", "bo", 1), 0),
        (("take", "b1", "bo", 1), 0),
    ),
    "a freed slot goes to the next in the queue, not a newcomer": (
        (("take", "a1", "ana", 1), -1),
        (("take", "b1", "bo", 1), 0),
        (("give", "a1"), None),
        (("take", "c1", "cy", 1), 1),
        (("take", "b1", "bo", 1), -1),
    ),
    "one person's backlog does not hold back another person": (
        (("take", "a0", "ana", 1), -1),
        (("take", "a1", "ana", 1), 0),
        (("take", "a2", "ana", 1), 1),
        (("take", "a3", "ana", 1), 2),
        (("take", "b1", "bo", 1), 0),  # bo was never served, ana was: bo goes first
        (("give", "a0"), None),
        (("take", "b1", "bo", 1), -1),
        (("take", "a1", "ana", 1), 0),
    ),
    "a run that leaves the queue makes room in it": (
        (("take", "a1", "ana", 1), -1),
        (("take", "b1", "bo", 1), 0),
        (("take", "c1", "cy", 1), 1),
        (("give", "b1"), None),
        (("take", "c1", "cy", 1), 0),
    ),
    "each workspace has its own slots and queue": (
        (("take", "a1", "ana", 1, "T1"), -1),
        (("take", "b1", "bo", 1, "T2"), -1),
        (("take", "c1", "cy", 1, "T1"), 0),
        (("give", "b1", "T2"), None),
        (("take", "c1", "cy", 1, "T1"), 0),
        (("give", "a1", "T1"), None),
        (("take", "c1", "cy", 1, "T1"), -1),
    ),
}


async def _slot_answers(slots: SharedSlots, ops: tuple[tuple[Op, object], ...]) -> list[object]:
    answers: list[object] = []
    for op, _ in ops:
        match op:
            case ("take", str(run), str(person), int(cap), *rest):
                workspace = str(rest[0]) if rest else ""
                found = await slots.take(run, person, cap, workspace=workspace)
                answers.append(-1 if found.started else found.ahead)
            case ("give", str(run), *rest):
                await slots.give_back(run, workspace=str(rest[0]) if rest else "")
                answers.append(None)
            case _:
                raise AssertionError(f"not an operation: {op}")
    return answers


@pytest.mark.parametrize("name", list(SLOT_CASES))
async def test_the_lua_and_the_python_slots_agree(name: str, new_link: LinkFactory) -> None:
    ops = SLOT_CASES[name]
    expected = [answer for _, answer in ops]
    memory = await _slot_answers(MemorySlots(clock=lambda: 100.0), ops)
    redis = await _slot_answers(RedisSlots(new_link()), ops)
    assert memory == expected
    assert redis == expected


async def test_memory_slots_expire_unrefreshed_entries_as_redis_does() -> None:
    now = [0.0]
    slots = MemorySlots(held_for_s=30, clock=lambda: now[0])
    assert (await slots.take("a1", "ana", 1)).started
    assert (await slots.take("b1", "bo", 1)).ahead == 0
    now[0] = 20.0
    await slots.refresh(["b1"])  # b1's replica is alive; a1's is not
    now[0] = 31.0
    assert (await slots.take("b1", "bo", 1)).started  # a1's slot expired
