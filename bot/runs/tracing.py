"""A run's attempt as the root span of the run's one trace (bot.telemetry)."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from bot.deps import Deps
from bot.store import Fence, StoreDown
from bot.telemetry import RunLabels, new_trace_id, run_span
from bot.thread.owner import RunOwner

logger = logging.getLogger(__name__)


async def traced(
    deps: Deps,
    run: RunOwner,
    work: Coroutine[Any, Any, None],
    *,
    workspace: str,
    trace_id: str | None,
    resumed: bool,
    fence: Fence | None = None,
) -> None:
    """`work` (a run's `execute`) inside the run's root span, in the run's trace; its outcome
    is the run's status as its owner saw it end ("interrupted": it did not end).

    A run stored before traces were (`trace_id` None) gets a trace id now, stored (under
    `fence`, this replica's hold on it) so that its later attempts join it."""
    if trace_id is None:
        trace_id = new_trace_id()
        try:
            await deps.store.save_trace_id(run.run_id, trace_id, fence=fence)
        except StoreDown:
            logger.warning("run store: could not save a trace id [run_id=%s]", run.run_id)
    labels = RunLabels(run.run_id, workspace, run.channel)
    with run_span(
        deps.telemetry, labels, trace_id=trace_id, resumed=resumed, goal=run.goal
    ) as root:
        try:
            await work
        finally:
            result = run.view.result
            root.outcome = result.status if result is not None else "interrupted"
