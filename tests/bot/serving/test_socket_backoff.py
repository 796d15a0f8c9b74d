"""The Socket Mode reconnect backoff: doubling waits with jitter, capped, reset by a
connection that stayed up (a fake clock; no wall clock)."""

from __future__ import annotations

import random

import pytest

from bot.serving.socket_link import BASE_S, CAP_S, STABLE_S, Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seed", range(5))
def test_waits_in_a_row_double_within_equal_jitter_up_to_the_cap(seed: int) -> None:
    backoff = Backoff(clock=Clock(), rng=random.Random(seed))
    waits = [backoff.next_wait() for _ in range(10)]
    for n, wait in enumerate(waits):
        cap = min(CAP_S, BASE_S * 2**n)
        assert cap / 2 <= wait <= cap
    doubling = [w for n, w in enumerate(waits) if BASE_S * 2**n <= CAP_S]
    assert len(doubling) >= 5
    assert doubling == sorted(doubling)  # until the cap, each at least the one before


def test_a_connection_that_stayed_up_starts_the_waits_again() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock, rng=random.Random(1))
    for _ in range(4):
        backoff.next_wait()
        backoff.connected()
        clock.now += 1  # each connection dropped at once: the waits keep growing
    assert backoff.next_wait() >= BASE_S * 2**4 / 2

    backoff.connected()
    clock.now += STABLE_S
    assert backoff.next_wait() <= BASE_S
