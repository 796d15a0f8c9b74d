"""What the run store hands out: frozen values, never SQLAlchemy objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal, TypeGuard, get_args

RunStatus = Literal["queued", "running", "succeeded", "partial", "failed", "cancelled", "paused"]
SubtaskState = Literal["pending", "running", "done", "failed", "skipped", "cancelled"]
RunSource = Literal["command", "mention", "button", "dm"]
# Why a run stopped before (or instead of) finishing normally; "none" for a normal end.
EndReason = Literal["none", "cancelled_by_user", "restart", "budget", "error"]
# A source as a model cited it, e.g. {"url": ..., "title": ...}.
Source = Mapping[str, str]

RUN_STATUSES: Final[frozenset[str]] = frozenset(get_args(RunStatus))
SUBTASK_STATES: Final[frozenset[str]] = frozenset(get_args(SubtaskState))
RUN_SOURCES: Final[frozenset[str]] = frozenset(get_args(RunSource))
END_REASONS: Final[frozenset[str]] = frozenset(get_args(EndReason))
# The runs a restarted process picks up again.
UNFINISHED_STATUSES: Final[tuple[RunStatus, ...]] = ("queued", "running", "paused")
FINISHED_STATUSES: Final[tuple[RunStatus, ...]] = ("succeeded", "partial", "failed", "cancelled")
# The runs going now (waiting for a slot or running): the store's word is "active";
# admission's count of slots taken is what it is `holding`.
ACTIVE_STATUSES: Final[tuple[RunStatus, ...]] = ("queued", "running")


def is_run_status(value: str) -> TypeGuard[RunStatus]:
    """Whether `value` is a run status."""
    return value in RUN_STATUSES


def is_subtask_state(value: str) -> TypeGuard[SubtaskState]:
    """Whether `value` is a subtask state."""
    return value in SUBTASK_STATES


def is_run_source(value: str) -> TypeGuard[RunSource]:
    """Whether `value` is a run source."""
    return value in RUN_SOURCES


def is_end_reason(value: str) -> TypeGuard[EndReason]:
    """Whether `value` is an end reason."""
    return value in END_REASONS


@dataclass(frozen=True, slots=True)
class StoredUsage:
    """Tokens and web searches (token names as in the Messages API and `pipeline.Usage`)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    web_searches: int = 0


@dataclass(frozen=True, slots=True)
class StoredSubtask:
    """One subtask of a stored run, in plan order."""

    subtask_id: str
    position: int
    role: str
    state: SubtaskState
    output: str | None
    sources: tuple[Source, ...]
    usage: StoredUsage
    error: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One run as stored: where it lives in Slack, what it was asked, how far it got.

    Texts (goal, context, plan, outputs, answer) are empty or None once retention purged them
    (`purged_at` is then set); ids, states, usage and cost stay.
    """

    run_id: str
    workspace: str
    requester: str
    channel: str
    source: RunSource
    delivery_key: str | None
    goal: str
    context: str | None
    thread_ts: str | None
    root_ts: str | None
    plan_ts: str | None
    answer_ts: tuple[str, ...]
    plan: dict[str, object] | None
    subtasks: tuple[StoredSubtask, ...]
    answer: str | None
    usage: StoredUsage
    cost_usd: float | None
    status: RunStatus
    end_reason: EndReason | None
    ended_by: str | None
    parent_run_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    purged_at: datetime | None
    # Several replicas: which one owns the run, until when, and under which fencing token
    # (bot/store/leases.py).
    owner: str | None
    lease_until: datetime | None
    fencing_token: int | None
    # Seconds worked so far (a resumed run's deadline continues from it), its effort ("":
    # the default) and the estimate its plan showed (None: none was made).
    work_s: float = 0.0
    effort: str = ""
    estimate_usd: float | None = None
    estimate_s: float | None = None
    basis_usd: float | None = None  # the estimate before history corrected it
    basis_s: float | None = None
    # The run's OpenTelemetry trace id, 32 hex digits (None: stored before traces were).
    trace_id: str | None = None
    # The Enterprise Grid org of its workspace ("": none), for an org-wide install's token.
    enterprise_id: str = ""


@dataclass(frozen=True, slots=True)
class RunActuals:
    """An ended run's estimate basis beside what it cost and how long it worked: what
    corrects the next plan's estimate (issue 22.4)."""

    basis_usd: float | None
    basis_s: float | None
    cost_usd: float | None
    work_s: float


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A line of history: enough for `/research history` and the App Home tab."""

    run_id: str
    workspace: str
    goal: str
    requester: str
    channel: str
    thread_ts: str | None
    status: RunStatus
    cost_usd: float | None
    parent_run_id: str | None
    created_at: datetime
    finished_at: datetime | None
    work_s: float = 0.0  # seconds it worked (its actual time, beside estimate_s)
    estimate_usd: float | None = None  # what its plan estimated (None: no estimate)
    estimate_s: float | None = None
    basis_usd: float | None = None  # the estimate before history corrected it
    basis_s: float | None = None
    canvas_id: str | None = None  # the canvas that holds its answer (issue 23.4)


@dataclass(frozen=True, slots=True)
class CountedRun:
    """A queued or running run as the live-run and per-person counts see it (rebuilt from
    the store when Redis loses them: `bot.coordination.counts`)."""

    run_id: str
    requester: str
    holds_slot: bool  # running, and a replica holds its lease: it takes a live slot
    age_s: float  # since it was created
    workspace: str = ""  # its team id (many workspaces: each counts its own)


@dataclass(frozen=True, slots=True)
class OutputClaim:
    """Who posts a subtask's full output: this caller (`won`), or another, whose first
    message is `ts` (None: still being posted)."""

    won: bool
    ts: str | None


@dataclass(frozen=True, slots=True)
class DaySpend:
    """US$ spent on one (UTC) day."""

    day: date
    usd: float


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """What one retention pass did."""

    runs: int
    subtasks: int
    deliveries: int
