"""Database URLs mapped to the async drivers; what a missing PostgreSQL does to the tests."""

from __future__ import annotations

import pytest

from bot.store import DatabaseURLError
from bot.store.url import async_url, sqlite_file
from tests.store.conftest import postgres_missing


@pytest.mark.parametrize(
    ("configured", "driver", "database"),
    [
        ("sqlite:///data/orchestra.db", "sqlite+aiosqlite", "data/orchestra.db"),
        ("sqlite:////var/lib/orchestra/runs.db", "sqlite+aiosqlite", "/var/lib/orchestra/runs.db"),
        ("sqlite://", "sqlite+aiosqlite", None),
        ("postgresql://u:p@db.internal:5432/orchestra", "postgresql+asyncpg", "orchestra"),
        ("postgres://u:p@db.internal/orchestra", "postgresql+asyncpg", "orchestra"),
        ("postgresql+asyncpg://u@h/orchestra", "postgresql+asyncpg", "orchestra"),
    ],
)
def test_configured_urls_get_the_async_driver(
    configured: str, driver: str, database: str | None
) -> None:
    url = async_url(configured)
    assert url.drivername == driver
    assert url.database == database


def test_sqlite_url_names_its_file_relative_or_absolute() -> None:
    assert str(sqlite_file(async_url("sqlite:///data/orchestra.db"))) == "data/orchestra.db"
    assert str(sqlite_file(async_url("sqlite:////srv/o.db"))) == "/srv/o.db"
    assert sqlite_file(async_url("sqlite:///:memory:")) is None


@pytest.mark.parametrize(
    "configured", ["mysql://root:hunter2@db/orchestra", "postgresql+psycopg2://u:hunter2@h/db"]
)
def test_unsupported_databases_are_refused_without_showing_the_password(configured: str) -> None:
    with pytest.raises(DatabaseURLError) as raised:
        async_url(configured)
    assert "hunter2" not in str(raised.value)
    assert "postgresql://" in str(raised.value)


def test_a_url_that_is_not_one_is_refused() -> None:
    with pytest.raises(DatabaseURLError, match="not a URL"):
        async_url("data/orchestra.db")


def test_missing_postgresql_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no server"):
        postgres_missing("no server")


def test_missing_postgresql_skips_with_its_reason_outside_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server"):
        postgres_missing("no server")
