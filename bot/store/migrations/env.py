"""Alembic's entry point, run inside the connection that `bot.store.migrate` hands over.

There is no alembic.ini and no URL here: the store opens the database and passes its
connection in `config.attributes["connection"]`, so this works from an installed wheel.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for later migrations.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "the run store's migrations run through bot.store.migrate with an open connection"
    )
_run(_connection)
