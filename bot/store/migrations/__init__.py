"""Alembic migrations of the run store; applied by `bot.store.migrate` when the store opens."""
