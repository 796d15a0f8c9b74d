"""Coordination tests run on a real Redis: the project's machine's (127.0.0.1:6379).

Each test gets its own key prefix (so tests, and sessions, sharing the server never see each
other's keys), deleted after it. "Two replicas" are two separate clients on that prefix.
Without a server these tests skip with a message, except in CI (`CI=true`), where they fail
(as the run store's PostgreSQL tests do, tests/store/conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import NoReturn

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.coordination import RedisDown, RedisLink
from tests.ports import free_port
from tests.store.conftest import postgres_url  # noqa: F401 - a fixture, used by name

REDIS_SERVER = "127.0.0.1:6379"
REDIS_URL = f"redis://{REDIS_SERVER}/0"

LinkFactory = Callable[[], RedisLink]


def redis_missing(message: str) -> NoReturn:
    """Fail in CI, where Redis must be there; skip, saying why, elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def prefix() -> str:
    """This test's own key prefix."""
    return f"orchestra-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def new_link(prefix: str) -> AsyncIterator[LinkFactory]:
    """Makes links to the real Redis, each its own client (a replica), on this test's prefix."""
    links: list[RedisLink] = []

    def make() -> RedisLink:
        link = RedisLink.from_url(REDIS_URL, prefix=prefix)
        links.append(link)
        return link

    first = make()
    try:
        await first.ping()
    except RedisDown as down:
        await first.close()
        redis_missing(
            f"no Redis server at {REDIS_SERVER} ({down}): the coordination tests need one"
        )
    yield make
    async for key in first.client.scan_iter(match=f"{prefix}*", count=500):
        await first.client.delete(key)
    for link in links:
        await link.close()


@pytest.fixture
async def link(new_link: LinkFactory) -> RedisLink:
    """A replica's link to the real Redis."""
    return new_link()


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL where nothing listens (a port just freed on loopback): connection refused."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
async def dead_link(dead_redis_url: str, prefix: str) -> AsyncIterator[RedisLink]:
    """A link to a Redis that is down."""
    link = RedisLink.from_url(dead_redis_url, prefix=prefix)
    yield link
    await link.close()


@pytest.fixture
async def redis_db_url() -> AsyncIterator[str]:
    """A Redis database of this test's own, for app processes (`python -m bot` keeps its keys
    under one fixed prefix, so separate processes are kept apart by database instead): one
    of 1..15 that is empty and not reserved by another test, flushed after the test."""
    admin = Redis.from_url(REDIS_URL)
    try:
        await admin.ping()
    except (RedisError, OSError) as error:
        await admin.aclose()
        redis_missing(f"no Redis server at {REDIS_SERVER} ({type(error).__name__})")
    token = uuid.uuid4().hex
    try:
        for db in range(1, 16):
            reservation = f"orchestra-test:redis-db:{db}"
            if not await admin.set(reservation, token, nx=True, ex=30 * 60):
                continue
            database = Redis.from_url(f"redis://{REDIS_SERVER}/{db}")
            try:
                if await database.dbsize() == 0:
                    yield f"redis://{REDIS_SERVER}/{db}"
                    await database.flushdb()
                    return
            finally:
                await database.aclose()
                if await admin.get(reservation) == token.encode():
                    await admin.delete(reservation)
        pytest.fail("no free Redis database among 1..15 for this test")
    finally:
        await admin.aclose()
