"""A run's working time against its deadline: pure arithmetic over an injected clock.

The clock counts only while the run works (calls Claude): a caller excludes a wait (for
plan approval, say) with `exclude`, and a resumed run starts from the time already spent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class WorkClock:
    """Seconds worked and left before `limit_s`.

    Args:
        limit_s: the deadline, in seconds of working time.
        clock: monotonic seconds (injectable: tests pass a fake).
        spent_s: working time earlier attempts at the run already used.
    """

    limit_s: float
    clock: Callable[[], float]
    spent_s: float = 0.0
    excluded_s: float = 0.0
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def worked(self) -> float:
        """Working time so far, earlier attempts included."""
        return max(0.0, self.spent_s + (self.clock() - self.started) - self.excluded_s)

    def remaining(self) -> float:
        """Seconds left before the deadline (0 once it has passed)."""
        return max(0.0, self.limit_s - self.worked())

    def exclude(self, seconds: float) -> None:
        """Do not count `seconds` the run spent waiting (not working)."""
        self.excluded_s += max(0.0, seconds)


def subtask_limit(deadline_s: float, subagent_timeout_s: float | None) -> float:
    """One subtask's longest time: its own limit, or the run's deadline when none is set."""
    return subagent_timeout_s if subagent_timeout_s is not None else deadline_s
