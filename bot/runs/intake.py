"""The one way a run is accepted, however it starts:

    claim → judge → admit → confirm → budget → launch

in this order for a slash command, a mention or a DM, a Retry or Re-run, and a run resumed
after a restart or taken over from another replica (as dbos's recovery calls the function a
fresh start calls). Each way in hands the intake an `Ask`; a step it has nothing for passes
(a resumed run has no delivery to claim), and a step it did early is handed in done (a slash
command is judged and counted before its ack, which must not wait on a database). So no way
in can skip a check: a button pressed on another replica is held to the per-person cap of
the whole workspace exactly as a new request is."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.coordination import Claim
from bot.deps import Deps
from bot.render import notes
from bot.render.history import goal_link
from bot.runs.budgets import budget_refusal
from bot.runs.registry import DELIVERY_TTL_S
from bot.runs.scoped_settings import applied_for
from bot.slack.requester import Requester
from bot.slack.tenancy import scoped, workspace_key
from bot.store import UNFINISHED_STATUSES, RunSummary, StoreDown

logger = logging.getLogger(__name__)


class Said(enum.Enum):
    """The judge answered the person itself (help, history, a run it cannot resume):
    nothing starts, and the intake has nothing to add."""

    SAID = "said"


SAID = Said.SAID
Verdict = str | notes.Private | Said | None  # None: go on; anything else stops the run
Judge = Callable[[], Awaitable[Verdict]]
Start = Callable[[str], Awaitable[None]]  # launches the run under the id the intake admitted


async def _no_objection() -> Verdict:
    return None


@dataclass(frozen=True)
class Ask:
    """A request for a run, as a listener (or the resumer) hands it to `accept`."""

    requester: Requester  # who asks, where: told any refusal privately
    start: Start  # the last step
    keys: Sequence[str] = ()  # the deliveries (or the press) it came by: one run for all
    hold_s: float = DELIVERY_TTL_S  # how long those keys are remembered
    repeat: str | None = None  # told on a repeat (a second press); a redelivery is silent
    judge: Judge = _no_objection  # whether this request may run at all
    admitted: str | None = None  # counted already, before an ack (a slash command)
    resumed: str | None = None  # a run accepted before (restart, takeover), by its id


async def accept(deps: Deps, ask: Ask) -> str | None:
    """Take `ask` through every step; the run id it launched, or None (the person was told
    why, or it was a repeat)."""
    user, tell = ask.requester.user, ask.requester.tell
    if ask.keys:
        # A delivery is one workspace's: its key is kept within it (`bot.slack.tenancy`).
        keys = [scoped(workspace_key(), key) for key in ask.keys]
        claim = await deps.runs.coordination.claims.claim(keys, ask.hold_s)
        if not claim:
            _give_back(deps, ask.admitted)
            if claim is Claim.UNDECIDED:
                await tell(notes.NOT_CHECKED)  # rather than risk a second run
            elif ask.repeat is not None:
                await tell(ask.repeat)
            else:
                logger.info("ignoring repeated delivery of %s", list(ask.keys))
            return None
    verdict = await ask.judge()
    if verdict is None and ask.resumed is None and not deps.runs.accepting:
        verdict = notes.BUSY
    if verdict is not None:
        _give_back(deps, ask.admitted)
        if verdict is not SAID:
            await tell(verdict)
        return None
    # Counted here at once, and where every replica counts the person's runs: a run accepted
    # before (resumed) counts whatever the cap, a new one only under it.
    resumed = ask.resumed is not None
    run_id = ask.admitted or deps.runs.admit(user, run_id=ask.resumed, resumed=resumed)
    if run_id is None or not await deps.runs.admission.confirm(run_id, always=resumed):
        await tell(await over_limit_everywhere(deps, user))
        return None
    # A resumed run's budget was asked when it was accepted (and each call still reserves).
    if not resumed and await refused_by_budget(deps, run_id, ask.requester):
        return None
    await ask.start(run_id)
    return run_id


def _give_back(deps: Deps, run_id: str | None) -> None:
    if run_id is not None:
        deps.runs.admission.release(run_id)


def over_limit(deps: Deps, user: str, stored: Sequence[RunSummary] = ()) -> notes.Private:
    """The refusal of a request past the per-person limit, for that person alone.

    It names every run of theirs going now, each once: a link to its thread, or counted as
    still starting, so the number it says is the list it shows. `stored`: the person's runs
    as the store has them (those on other replicas too). All are the person's own, which they
    may see wherever the reply is shown; the words for a public fallback name none."""
    items: dict[str, str] = {}
    url = deps.team.url
    for run_id in deps.runs.admission.runs_of(user):
        run = deps.runs.get(run_id)  # None: admitted, not started yet
        items[run_id] = goal_link(url, run.goal, run.channel, run.thread_ts) if run else ""
    for summary in stored:
        if summary.requester == user and summary.status in UNFINISHED_STATUSES:
            link = goal_link(url, summary.goal, summary.channel, summary.thread_ts)
            items[summary.run_id] = items.get(summary.run_id) or link
    links = [link for link in items.values() if link]
    limit = deps.runs.admission.max_per_user
    text = notes.over_limit(limit, links, starting=len(items) - len(links))
    return notes.Private(text, instead=notes.over_limit_public(limit))


async def over_limit_everywhere(deps: Deps, user: str) -> notes.Private:
    """`over_limit` with the person's runs on every replica (read from the store)."""
    try:
        stored = await deps.store.recent_runs(
            requester=user,
            workspace=deps.team.team_id,
            limit=max(20, 4 * deps.runs.admission.max_per_user),
        )
    except StoreDown:
        logger.warning("run store unreachable: the limit reply lists this replica's runs")
        stored = []
    return over_limit(deps, user, stored)


async def refused_by_budget(deps: Deps, run_id: str, requester: Requester) -> bool:
    """True (and the requester told privately, the run's slot given back) when a daily
    budget is already spent, so the run must not start."""
    # The channel's daily budget is its settings' (issue 24.4), else the environment's.
    limit = (await applied_for(deps, requester.channel)).budget_usd
    refusal = await budget_refusal(
        deps, deps.settings, requester.user, requester.channel, channel_limit=limit
    )
    if refusal is None:
        return False
    deps.runs.admission.release(run_id)
    await requester.tell(refusal)
    return True
