"""Turn the configured database URL into an async SQLAlchemy URL.

People write the URL forms SQLAlchemy documents (`sqlite:///data/orchestra.db`,
`postgresql://user:password@host:5432/db`); the async driver is our choice, not theirs.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# Plain scheme (or an explicitly named async driver) -> the async driver we use.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",  # the short form Heroku-style platforms hand out
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class DatabaseURLError(ValueError):
    """The database URL is not one the store can open."""


def async_url(url: str) -> URL:
    """Parse `url` and name the async driver for its database.

    Args:
        url: `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://` (in memory)
            or `postgresql://user:password@host:port/db`.

    Returns:
        The same URL with `sqlite+aiosqlite` or `postgresql+asyncpg` as its driver.

    Raises:
        DatabaseURLError: unparsable, or a database other than SQLite or PostgreSQL. The
            message never contains the password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(
            "the database URL is not a URL (expected sqlite:///path or postgresql://...)"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseURLError(
            f"unsupported database {parsed.drivername!r} in "
            f"{parsed.render_as_string(hide_password=True)!r} "
            "(expected sqlite:///path or postgresql://...)"
        )
    return parsed.set(drivername=driver)


def is_sqlite(url: URL) -> bool:
    """Whether `url` names a SQLite database."""
    return url.get_backend_name() == "sqlite"


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def ensure_sqlite_folder(url: URL) -> None:
    """Create the folder of a SQLite file (SQLite creates the file, not its folders)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
