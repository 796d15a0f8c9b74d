"""Steering: what people add to a run while it goes (a mention in its thread, issue 22.2).

The pipeline asks its `Steering` source for the steers so far each time a subagent call or
the integrator starts, so every call that starts after a steer sees it (and every earlier
one, in order); done work is not redone. A steer is untrusted text, like the goal: it
reaches Claude inside its own escaped section (`prompts.steering_section`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Steer:
    """One steer: who gave it (as the surface names people, e.g. a Slack user id) and what."""

    by: str
    text: str


class Steering(Protocol):
    """Where a run reads its steers: all of them so far, oldest first."""

    async def __call__(self) -> Sequence[Steer]: ...


async def no_steering() -> Sequence[Steer]:
    """A run nobody can steer (the CLI, tests)."""
    return ()
