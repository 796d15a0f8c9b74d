"""The test-wide thread filter lets exactly one library race pass: aiosqlite's late answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import aiosqlite
import pytest

from tests.conftest import _late_sqlite_answer

SLOW_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
def thread_exceptions() -> Iterator[list[threading.ExceptHookArgs]]:
    seen: list[threading.ExceptHookArgs] = []
    before = threading.excepthook
    threading.excepthook = seen.append
    try:
        yield seen
    finally:
        threading.excepthook = before


def test_the_installed_aiosqlites_late_answer_to_a_closed_loop_is_recognised(
    thread_exceptions: list[threading.ExceptHookArgs],
) -> None:
    """Reproduced with the locked aiosqlite, not a copy of its traceback (CI once failed on
    a release whose worker function had another name)."""
    loop = asyncio.new_event_loop()

    pending: list[asyncio.Future[aiosqlite.Cursor]] = []

    async def start_a_slow_query() -> aiosqlite.Connection:
        db = await aiosqlite.connect(":memory:")
        pending.append(asyncio.ensure_future(db.execute(SLOW_QUERY)))
        await asyncio.sleep(0.05)
        return db

    db = loop.run_until_complete(start_a_slow_query())
    assert not pending[0].done()
    loop.close()
    db.join(timeout=30)  # the worker finishes the query, fails to answer, and dies

    assert not db.is_alive()
    assert len(thread_exceptions) == 1
    assert _late_sqlite_answer(thread_exceptions[0])


def test_the_same_error_from_any_other_thread_still_fails(
    thread_exceptions: list[threading.ExceptHookArgs],
) -> None:
    def elsewhere() -> None:
        raise RuntimeError("Event loop is closed")

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()

    assert len(thread_exceptions) == 1
    assert not _late_sqlite_answer(thread_exceptions[0])
