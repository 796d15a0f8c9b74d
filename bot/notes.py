"""Every sentence the app says about a run's life, in one place (tests and docs quote them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PAUSED = (
    ":double_vertical_bar: Paused for a restart; I will resume where I left off "
    "(nothing already done is lost)."
)
USAGE_HINT = (
    "Tell me what to research, e.g. `{command} compare Postgres, MySQL and SQLite for a "
    "small SaaS`, or mention me with the goal. `{command} history` lists this channel's runs."
)
BUSY = "Orchestra is restarting and not taking new runs right now; please ask again shortly."
ALREADY_ENDED = "That run has already ended."
NOT_THIS_RUN = "That button does not belong to this run's message, so I ignored it."
OUTPUT_GONE = "That output is no longer available (its text was removed after a while)."
OUTPUT_POSTED = "That output is already in this thread."
UNKNOWN_RUN = "That run is no longer available here."
NOT_FINISHED = "That run is still going; wait for it to end first."
CANCEL_NOT_SENT = (
    "I could not pass your Cancel on to the server running this run just now; "
    "please press Cancel again in a moment."
)
# A delivery that could not be checked against earlier ones (Redis and the run store both
# unreachable): refused, rather than risk starting the same run twice.
NOT_CHECKED = (
    "I could not check whether this request was already started (a service I need is "
    "unreachable), so I did not start it; please ask again in a minute."
)


def queued(ahead: int) -> str:
    """Where a waiting run stands (the plan message says it while the run waits)."""
    if ahead == 0:
        return "Queued: yours is next; it starts as soon as a run ends."
    return f"Queued: {ahead} run{'s' if ahead != 1 else ''} ahead of yours."


def over_limit(limit: int, links: list[str]) -> str:
    """Refusal of a request past the per-person limit, linking the person's runs."""
    runs = ", ".join(links) if links else "still starting"
    return (
        f"You already have {limit} runs going, the limit per person ({runs}). "
        "Wait for one to end or cancel one, then ask again."
    )


def resumed(done: int, total: int) -> str:
    """The note a resumed run posts in its thread."""
    if total == 0:
        return ":arrow_forward: Resumed after a restart: planning again."
    return (
        f":arrow_forward: Resumed after a restart: {done} of {total} subtasks "
        f"{'was' if done == 1 else 'were'} already done."
    )


def cannot_resume(why: str) -> str:
    """A run that could not be resumed, and why; a Re-run button follows."""
    return f":warning: I could not resume this run after a restart: {why}"


def only_requester(requester: str, what: str) -> str:
    """Refusal of a button that only the person who asked may press."""
    return f"Only <@{requester}>, who asked, can {what} this run."


def retrying(subtasks: list[str], by: str) -> str:
    """The note that opens a Retry of failed subtasks."""
    return f":repeat: <@{by}> asked to retry {', '.join(subtasks)}; the first answer stays above."


def rerunning(by: str) -> str:
    """The note that opens a Re-run."""
    return f":repeat: <@{by}> asked to run this again from the start."


StopReason = Literal["cancelled_by_user", "restart"]


@dataclass(frozen=True)
class Stop:
    """Why a live run is being stopped, and by whom: what its thread will say."""

    reason: StopReason
    by: str | None = None

    def phase(self) -> str:
        """The plan message's last line: short, the thread's note says the rest."""
        return "Paused for a restart." if self.reason == "restart" else "Cancelled."

    def note(self) -> str:
        """The sentence the run's thread gets."""
        if self.reason == "restart":
            return PAUSED
        who = f" by <@{self.by}>" if self.by else ""
        return f":black_square_for_stop: Cancelled{who}."
