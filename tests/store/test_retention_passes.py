"""Retention runs every hour: texts outlive ORCHESTRA_RETENTION_DAYS by at most an hour, and
an hourly pass with nothing due costs two one-row reads and no write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.runs.lifecycle import purge_forever
from bot.store import RunStore, StoredUsage
from tests.store.conftest import FakeClock, stored

DAYS = 90
HOUR_S = 3600.0


async def _finished_run(store: RunStore) -> str:
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal="a goal"
    )
    await store.finish_run(run_id, "succeeded", "none", "the answer", StoredUsage(1, 1))
    return run_id


class _Done(Exception):
    """Ends `purge_forever` from its sleep."""


async def test_texts_are_gone_within_an_hour_past_their_retention(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _finished_run(store)
    due = datetime.fromtimestamp(clock.now, UTC) + timedelta(days=DAYS)
    clock.advance(DAYS * 86_400 - HOUR_S / 2)  # the app started half an hour before it is due

    async def sleep(seconds: float) -> None:  # time passes only here: no wall clock
        clock.advance(seconds)
        if datetime.fromtimestamp(clock.now, UTC) > due + timedelta(days=2):
            raise _Done

    with pytest.raises(_Done):
        await purge_forever(store, DAYS, sleep=sleep)

    purged = await stored(store, run_id)
    assert (purged.goal, purged.answer) == ("", None)
    assert purged.purged_at is not None
    assert purged.purged_at - due <= timedelta(hours=1)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while inside, its first word upper-cased."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        # before_cursor_execute(conn, cursor, statement, parameters, context, executemany)
        sent.append(str(args[2]).split(None, 1)[0].upper())

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_a_pass_with_nothing_due_reads_two_rows_and_writes_nothing(
    store: RunStore, clock: FakeClock
) -> None:
    await _finished_run(store)  # not old enough
    assert await store.claim_delivery(["Ev1"], HOUR_S)  # not expired

    with statements() as sent:
        counts = await store.purge(DAYS)

    assert (counts.runs, counts.subtasks, counts.deliveries) == (0, 0, 0)
    assert sent == ["SELECT", "SELECT"]
