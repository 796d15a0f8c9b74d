"""Bring the schema up to date with Alembic, programmatically, when the store opens."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

# "package:folder" makes Alembic find the scripts through importlib, so an installed wheel
# works from any working directory, with no alembic.ini.
SCRIPT_LOCATION = "bot.store:migrations"

# Any fixed number: replicas that start together take this PostgreSQL advisory lock in turn,
# so only one of them runs the migrations (the others then find nothing to do).
_MIGRATION_LOCK_KEY = 0x0C4E57A


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """The schema revision before and after an upgrade (None: an empty database)."""

    before: str | None
    after: str | None

    @property
    def upgraded(self) -> bool:
        """Whether any migration ran."""
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the store's migrations, bound to `connection` when given."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision the package ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> SchemaChange:
    """Apply every pending migration inside the caller's transaction.

    Run it with `await async_connection.run_sync(upgrade)` inside `engine.begin()`: on
    PostgreSQL the DDL and the advisory lock then commit (or roll back) together.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
    before = current_revision(connection)
    command.upgrade(alembic_config(connection), "head")
    return SchemaChange(before=before, after=current_revision(connection))
