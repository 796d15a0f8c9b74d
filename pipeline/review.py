"""Plan review (issue 22.3): a person approves, edits or lets expire the plan before any
subagent is paid for.

The pipeline hands the plan to its `Review` after PlanReady and before the first subagent
call; the review answers with the plan to run (the same, or edited), or raises
`ReviewExpired` (the run fails with its sentence) or lets cancellation through. The wait is not
working time: the deadline does not run while a plan waits for approval."""

from __future__ import annotations

from typing import Protocol

from pipeline.errors import PipelineError
from pipeline.models import Plan


class Review(Protocol):
    """Waits for a person's approval of `plan`; returns the plan to run."""

    async def __call__(self, plan: Plan) -> Plan: ...


class ReviewExpired(PipelineError):
    """Nobody approved the plan in time: nothing was run."""
