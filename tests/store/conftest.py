"""The store's tests run twice: on SQLite in a temporary folder and on a real PostgreSQL.

PostgreSQL is the project's machine's (127.0.0.1:5432, user `postgres`, trust auth); each
test gets a fresh database, dropped after it. Without a server, the PostgreSQL half skips
with a message, except in CI (`CI=true`), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import NoReturn

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.store import RunStore, StoredRun

PG_SERVER = "postgres@127.0.0.1:5432"


class FakeClock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:  # 2026-09-21, a Monday
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def _admin(statement: str) -> None:
    """Run a statement on the server's `postgres` database, outside a transaction."""
    engine = create_async_engine(
        f"postgresql+asyncpg://{PG_SERVER}/postgres",
        isolation_level="AUTOCOMMIT",  # CREATE/DROP DATABASE refuse to run in a transaction
        poolclass=NullPool,
        connect_args={"timeout": 5},
    )
    try:
        async with engine.connect() as connection:
            # Database names have no SQLAlchemy construct; ours are generated, never input.
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def postgres_missing(message: str) -> NoReturn:
    """Fail in CI, where PostgreSQL must be there; skip, saying why, elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test (in the URL form people configure)."""
    name = f"orchestra_test_{uuid.uuid4().hex[:12]}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except (OSError, SQLAlchemyError) as error:
        postgres_missing(
            f"no PostgreSQL server at {PG_SERVER} ({type(error).__name__}): "
            "the run store's PostgreSQL tests need one (trust auth)"
        )
    yield f"postgresql://{PG_SERVER}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database of each backend, as a URL."""
    if request.param == "sqlite":
        # An absolute path: the four-slash form, sqlite:////tmp/.../orchestra.db
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'db' / 'orchestra.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock, moved by the test."""
    return FakeClock()


@pytest.fixture
async def store(database_url: str, clock: FakeClock) -> AsyncIterator[RunStore]:
    """An open store on an empty database of each backend."""
    opened = await RunStore.open(database_url, clock=clock)
    yield opened
    await opened.close()


async def stored(store: RunStore, run_id: str) -> StoredRun:
    """The run, which the test knows exists."""
    run = await store.get_run(run_id)
    assert run is not None, f"run {run_id} is not stored"
    return run
