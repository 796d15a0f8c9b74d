"""The store's schema as SQLAlchemy Core tables; migrations/ must build exactly this."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Named constraints, so later migrations can drop or alter them by name on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend.

    SQLite has no time zones: it gets naive UTC (its fixed-width text sorts like time, so
    `<` in queries works) and gets the zone back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the run store takes aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Slack ids and timestamps are short; the lengths leave room without inviting abuse.
_ID = 64
_TS = 32

# JSON NULL would be a value that is "null", not SQL NULL; we want SQL NULL for "none".
_JSON = JSON(none_as_null=True)


def _usage_columns() -> list[Column[int]]:
    """Token and search counters; a run sums its subtasks' and its own calls'."""
    return [
        Column(name, Integer, nullable=False, server_default="0")
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "web_searches",
        )
    ]


runs = Table(
    "runs",
    metadata,
    Column("run_id", String(_ID), primary_key=True),
    Column("workspace", String(_ID), nullable=False),
    Column("requester", String(_ID), nullable=False),
    Column("channel", String(_ID), nullable=False),
    Column("source", String(16), nullable=False),
    Column("delivery_key", String(255)),
    Column("goal", Text, nullable=False),
    Column("context", Text),
    Column("thread_ts", String(_TS)),
    Column("root_ts", String(_TS)),
    Column("plan_ts", String(_TS)),
    Column("plan", _JSON),
    Column("answer", Text),
    *_usage_columns(),
    # What the spend ledger charged for this run, call by call (bot/store/spend.py is its
    # only writer); NULL: the price of a model was unknown, not zero.
    Column("cost_usd", Float),
    Column("status", String(16), nullable=False),
    Column("end_reason", String(32)),
    Column("ended_by", String(_ID)),
    Column("parent_run_id", String(_ID), ForeignKey("runs.run_id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("purged_at", UTCDateTime),
    Column("owner", String(128)),
    Column("lease_until", UTCDateTime),
    Column("fencing_token", BigInteger),
    # Seconds the run has worked (called Claude): its deadline continues from it after a
    # restart or takeover. Its effort (quick, deep; NULL: default) and the estimate its
    # plan showed (history sets it beside the actual cost and time).
    Column("work_s", Float, nullable=False, server_default="0"),
    Column("effort", String(8)),
    Column("estimate_usd", Float),
    Column("estimate_s", Float),
    # The estimate from the plan and prices alone: history corrects the next estimates by
    # how far the actuals were from it (pipeline/estimate.py).
    Column("basis_usd", Float),
    Column("basis_s", Float),
    # The run's OpenTelemetry trace (32 hex digits): a resumed or taken-over attempt joins it.
    Column("trace_id", String(32)),
    # The Enterprise Grid org of its workspace (NULL outside one): an org-wide install's
    # token is the org's, found by it when the run resumes (migration 0011).
    Column("enterprise_id", String(_ID)),
    Index(None, "status"),
    Index(None, "channel", "created_at"),
    Index(None, "requester", "created_at"),
    Index(None, "created_at"),
    Index(None, "parent_run_id"),
    # The estimate history each run's start reads (newest ended runs of a workspace at an
    # effort): without it that read scanned every run, 2.4 ms of CPU at 1,000 (0014).
    Index(None, "workspace", "effort", "finished_at", "run_id"),
)

subtasks = Table(
    "subtasks",
    metadata,
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("subtask_id", String(_ID), nullable=False),
    Column("position", Integer, nullable=False),
    Column("role", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("output", Text),
    Column("sources", _JSON),
    *_usage_columns(),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("run_id", "subtask_id"),
)

# One row per posted part of an answer (long answers span messages), in posting order.
answer_messages = Table(
    "answer_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("ts", String(_TS), nullable=False),
    UniqueConstraint("run_id", "ts"),
)

# A subtask's full output posted on demand (Full output): once per subtask, whoever clicks
# on whichever replica, before or after a restart. `ts` (its first message) is NULL while the
# clicker that claimed it posts it; a claim that never got a ts is taken again after a while.
output_posts = Table(
    "output_posts",
    metadata,
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("subtask_id", String(_ID), nullable=False),
    Column("ts", String(_TS)),
    Column("claimed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("run_id", "subtask_id"),
)

# The canvas that holds a run's long answer (`ORCHESTRA_CANVAS_MIN_CHARS`): a Retry, a Re-run
# or a resume finds it here and edits it rather than make another.
run_canvases = Table(
    "run_canvases",
    metadata,
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("canvas_id", String(_ID), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
)

# Slack delivery keys (event ids, triggers) inside Slack's retry window: bounded by time.
deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_key", String(255), primary_key=True),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

# The spend ledger: US$ per UTC day, person and channel. Retention never touches it.
spend = Table(
    "spend",
    metadata,
    Column("day", Date, nullable=False),
    Column("user_id", String(_ID), nullable=False),
    Column("channel_id", String(_ID), nullable=False),
    Column("usd", Float, nullable=False),
    PrimaryKeyConstraint("day", "user_id", "channel_id"),
    Index(None, "day", "channel_id"),
)

# Money held for Claude calls in flight against a daily budget (spend.py reserves and
# settles them). A hold counts like spend of its day until its call settles it into
# `spend`; one left by a process that died is charged in full once `expires_at` passes.
spend_holds = Table(
    "spend_holds",
    metadata,
    Column("hold_id", String(_ID), primary_key=True),
    Column("day", Date, nullable=False),
    Column("user_id", String(_ID), nullable=False),
    Column("channel_id", String(_ID), nullable=False),
    Column("usd", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # The run it was held for: what the hold settles to is added to that run's cost too.
    Column("run_id", String(_ID)),
    Index(None, "day", "user_id"),
    Index(None, "day", "channel_id"),
    Index(None, "expires_at"),
)

# One row per person or channel that has a daily budget. A reservation locks its rows
# (SELECT ... FOR UPDATE) so that reading the day's total and adding a hold is one step,
# for every process sharing the database.
budget_locks = Table(
    "budget_locks",
    metadata,
    Column("scope", String(16), nullable=False),  # "user" or "channel"
    Column("subject", String(_ID), nullable=False),
    PrimaryKeyConstraint("scope", "subject"),
)

# One row per installation by OAuth (SLACK_CLIENT_ID mode): a workspace, or a whole
# Enterprise Grid org for an org-wide install (team_id ""). enterprise_id is "" outside
# Grid: "" rather than NULL, so the pair is a primary key on every backend. Tokens are
# sealed (bot/store/sealing.py): the database never holds one in plain text.
installations = Table(
    "installations",
    metadata,
    Column("enterprise_id", String(_ID), nullable=False),
    Column("team_id", String(_ID), nullable=False),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("app_id", String(_ID)),
    Column("enterprise_name", String(255)),
    Column("enterprise_url", String(255)),
    Column("team_name", String(255)),
    Column("bot_id", String(_ID)),
    Column("bot_user_id", String(_ID)),
    Column("bot_scopes", Text),
    Column("bot_token", Text, nullable=False),  # sealed
    Column("bot_refresh_token", Text),  # sealed (token rotation, if the app turns it on)
    Column("bot_token_expires_at", BigInteger),  # epoch seconds
    Column("installer_id", String(_ID)),
    Column("user_token", Text),  # sealed; the app asks for no user scopes, so usually NULL
    Column("user_scopes", Text),
    Column("installed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("enterprise_id", "team_id"),
)

# OAuth states issued by GET /slack/install, each consumed once by the redirect: shared by
# replicas (the redirect may reach another one), gone after they expire.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

# Steers (issue 22.2): what people added to a live run from its thread, oldest first. The
# store is how a steer taken in by one replica reaches the replica running the run (it reads
# them as each subagent call starts), and how a resumed run keeps them.
steers = Table(
    "steers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("by", String(_ID), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "run_id", "id"),
)

# A plan waiting for its requester's approval (issue 22.3), one row per reviewed run: the
# store is how an Approve or an edit taken in by one replica reaches the replica holding the
# run, and how a restart keeps the plan waiting, with its expiry.
reviews = Table(
    "reviews",
    metadata,
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),  # awaiting | approved | expired
    Column("expires_at", UTCDateTime, nullable=False),
    Column("decided_by", String(_ID), nullable=True),
    Column("edited", Boolean, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("run_id"),
)

# The orchestrator's clarifying question (issue 22.3), one row per run that asked: the store
# is how the requester's answer taken in by one replica reaches the replica holding the run,
# and how a restart keeps an open question open (and an answered one answered).
questions = Table(
    "questions",
    metadata,
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("question", Text, nullable=False),
    Column("state", String(16), nullable=False),  # open | answered | expired
    Column("expires_at", UTCDateTime, nullable=False),
    Column("answer", Text, nullable=True),
    Column("answered_by", String(_ID), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("run_id"),
)

# Settings per workspace and per channel (issue 24.4): one row per channel that has its own,
# and one per workspace for its defaults (channel ""); `data` is the settings as JSON
# (bot/runs/channel_settings.py reads it, tolerating what it does not know).
scope_settings = Table(
    "scope_settings",
    metadata,
    Column("workspace", String(_ID), nullable=False),
    Column("channel", String(_ID), nullable=False),  # "": the workspace's defaults
    Column("data", JSON, nullable=False),
    Column("updated_by", String(_ID), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("workspace", "channel"),
)

# The settings a run started with, merged (environment, workspace, channel): a resumed run
# uses these, not whatever the channel's are by then. Standing instructions are people's
# text: retention deletes the row with the run's texts.
run_settings = Table(
    "run_settings",
    metadata,
    Column("run_id", String(_ID), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("data", JSON, nullable=False),
    PrimaryKeyConstraint("run_id"),
)
