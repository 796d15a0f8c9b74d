"""What a run cost, as every view shows it: the spend ledger's figure (`bot.store.spend`).

The pipeline counts the usage its calls reported; the ledger charges a call cut off before
Claude reported its usage (cancelled, timed out, a dropped stream) at its worst case, and a
resumed run's earlier attempts too. The footer a run ends with takes the ledger's figure, as
history lines and the Home tab's totals do, so they all agree."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.store import RunStore, StoreError
from bot.thread.owner import RunOwner
from pipeline import PipelineEvent, RunCancelled, RunFailed, RunFinished, RunResult

logger = logging.getLogger(__name__)


async def charged(store: RunStore, result: RunResult) -> RunResult:
    """`result` with the ledger's cost of its run (its own figure when the ledger has none
    or cannot be read; "unknown" stays unknown: a model without a price took part)."""
    if result.cost_usd is None:
        return result
    try:
        cost = await store.run_cost(result.run_id)
    except StoreError:
        logger.warning("run store: could not read the run's cost [run_id=%s]", result.run_id)
        return result
    return result if cost is None else replace(result, cost_usd=cost)


class LedgerFigures:
    """A run's event sink that ends the run with the ledger's cost in its result. Every
    call has settled its budget hold by the time the pipeline reports the end."""

    def __init__(self, store: RunStore, owner: RunOwner) -> None:
        self._store, self._owner = store, owner

    async def __call__(self, event: PipelineEvent) -> None:
        match event:
            case (
                RunFinished(result=result) | RunFailed(result=result) | RunCancelled(result=result)
            ):
                try:
                    event = replace(event, result=await charged(self._store, result))
                except StoreError:
                    # The end must reach its owner whatever the figure: it ends the run.
                    logger.exception("could not read the run's cost [run_id=%s]", result.run_id)
        await self._owner(event)
