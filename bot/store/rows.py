"""Rows to records and records to rows: the only place that knows both shapes.

Row values arrive untyped from the driver; this is where they get their types back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy.engine import RowMapping

from bot.store.core import StoreError
from bot.store.records import (
    EndReason,
    RunSource,
    RunStatus,
    RunSummary,
    Source,
    StoredRun,
    StoredSubtask,
    StoredUsage,
    SubtaskState,
    is_end_reason,
    is_run_source,
    is_run_status,
    is_subtask_state,
)

USAGE_COLUMNS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "web_searches",
)


class CorruptRow(StoreError):
    """A stored value the store never writes (a hand edit, or a newer version's value)."""


def usage_values(usage: StoredUsage) -> dict[str, int]:
    """The usage columns' values for an INSERT or UPDATE."""
    return {name: getattr(usage, name) for name in USAGE_COLUMNS}


def usage_of(m: RowMapping) -> StoredUsage:
    """The usage columns of a run or subtask row."""
    return StoredUsage(**{name: int(m[name]) for name in USAGE_COLUMNS})


def sources_value(sources: Sequence[Source]) -> list[dict[str, str]]:
    """Sources as JSON."""
    return [dict(source) for source in sources]


def _status(value: str) -> RunStatus:
    if not is_run_status(value):
        raise CorruptRow(f"unknown run status {value!r}")
    return value


def _state(value: str) -> SubtaskState:
    if not is_subtask_state(value):
        raise CorruptRow(f"unknown subtask state {value!r}")
    return value


def _source(value: str) -> RunSource:
    if not is_run_source(value):
        raise CorruptRow(f"unknown run source {value!r}")
    return value


def _end_reason(value: str | None) -> EndReason | None:
    if value is None:
        return None
    if not is_end_reason(value):
        raise CorruptRow(f"unknown end reason {value!r}")
    return value


def _sources(value: object) -> tuple[Source, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CorruptRow("sources are not a JSON list")
    return tuple({str(k): str(v) for k, v in item.items()} for item in value)


def _plan(value: object) -> dict[str, object] | None:
    if value is None or isinstance(value, dict):
        return value
    raise CorruptRow("a plan is not a JSON object")


def subtask_of(m: RowMapping) -> StoredSubtask:
    """A subtasks row as a record."""
    return StoredSubtask(
        subtask_id=m["subtask_id"],
        position=m["position"],
        role=m["role"],
        state=_state(m["state"]),
        output=m["output"],
        sources=_sources(m["sources"]),
        usage=usage_of(m),
        error=m["error"],
        attempts=m["attempts"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        updated_at=m["updated_at"],
    )


def run_of(m: RowMapping, subtasks: Sequence[StoredSubtask], answer_ts: Sequence[str]) -> StoredRun:
    """A runs row, with its subtasks and answer messages, as a record."""
    return StoredRun(
        run_id=m["run_id"],
        workspace=m["workspace"],
        requester=m["requester"],
        channel=m["channel"],
        source=_source(m["source"]),
        delivery_key=m["delivery_key"],
        goal=m["goal"],
        context=m["context"],
        thread_ts=m["thread_ts"],
        root_ts=m["root_ts"],
        plan_ts=m["plan_ts"],
        answer_ts=tuple(answer_ts),
        plan=_plan(m["plan"]),
        subtasks=tuple(subtasks),
        answer=m["answer"],
        usage=usage_of(m),
        cost_usd=m["cost_usd"],
        status=_status(m["status"]),
        end_reason=_end_reason(m["end_reason"]),
        ended_by=m["ended_by"],
        parent_run_id=m["parent_run_id"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        updated_at=m["updated_at"],
        purged_at=m["purged_at"],
        owner=m["owner"],
        lease_until=m["lease_until"],
        fencing_token=m["fencing_token"],
        trace_id=m["trace_id"],
        enterprise_id=m["enterprise_id"] or "",
        work_s=m["work_s"] or 0.0,
        effort=m["effort"] or "",
        estimate_usd=m["estimate_usd"],
        estimate_s=m["estimate_s"],
        basis_usd=m["basis_usd"],
        basis_s=m["basis_s"],
    )


def summary_of(m: RowMapping) -> RunSummary:
    """A runs row as a line of history."""
    return RunSummary(
        run_id=m["run_id"],
        workspace=m["workspace"],
        goal=m["goal"],
        requester=m["requester"],
        channel=m["channel"],
        thread_ts=m["thread_ts"],
        status=_status(m["status"]),
        cost_usd=m["cost_usd"],
        parent_run_id=m["parent_run_id"],
        created_at=m["created_at"],
        finished_at=m["finished_at"],
        work_s=m["work_s"] or 0.0,
        estimate_usd=m["estimate_usd"],
        estimate_s=m["estimate_s"],
        basis_usd=m["basis_usd"],
        basis_s=m["basis_s"],
        canvas_id=m.get("canvas_id"),
    )
