"""OAuth installations and states in our own tables (SQLite and PostgreSQL): tokens sealed
with the configured Fernet keys (never in plain text in the database), found per workspace or
per Enterprise Grid org, replaced on reinstall, forgotten on uninstall; keys rotate (the first
seals, all open); OAuth states are consumed once and expire."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from bot.store import RunStore
from bot.store.installations import STATE_TTL_S
from bot.store.sealing import Sealer, keys_problem
from bot.store.tables import installations
from tests.store.conftest import FakeClock

KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
A_KEY = "A" * 43 + "="  # a valid Fernet key, fixed: test ids must agree across workers
TOKEN = "xoxb-1234-secret-token-value"


def installation(
    team: str = "T2", *, enterprise: str | None = None, **more: object
) -> Installation:
    values: dict[str, object] = {
        "app_id": "A0APP",
        "enterprise_id": enterprise,
        "team_id": team,
        "team_name": team,
        "bot_token": TOKEN,
        "bot_id": "B0BOT",
        "bot_user_id": "UBOT",
        "bot_scopes": "commands,chat:write",
        "user_id": "U1",
        **more,
    }
    return Installation(**values)  # type: ignore[arg-type]


def every_byte(folder: Path) -> bytes:
    """The database file and its WAL/journal files, as they are on disk."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


async def raw_rows(store: RunStore) -> list[dict[str, object]]:
    async with store._engine.connect() as connection:
        return [dict(r) for r in (await connection.execute(select(installations))).mappings()]


async def test_an_installation_is_found_for_its_workspace_with_its_token_sealed(
    store: RunStore,
) -> None:
    found_in = store.installations(Sealer(KEY))
    await found_in.async_save(installation("T2"))
    found = await found_in.async_find_installation(enterprise_id=None, team_id="T2")
    assert found is not None
    assert (found.team_id, found.bot_token, found.bot_user_id) == ("T2", TOKEN, "UBOT")
    bot = await found_in.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None
    assert bot.bot_token == TOKEN
    assert await found_in.async_find_bot(enterprise_id=None, team_id="T3") is None
    rows = await raw_rows(store)
    assert len(rows) == 1
    assert TOKEN not in repr(rows)


async def test_the_database_file_holds_no_token_in_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "orchestra.db"
    store = await RunStore.open(f"sqlite:///{path}")
    try:
        await store.installations(Sealer(KEY)).async_save(installation("T2"))
    finally:
        await store.close()
    data = await asyncio.to_thread(every_byte, tmp_path)
    assert b"T2" in data  # the row is there...
    assert TOKEN.encode() not in data  # ...its token is not


async def test_an_org_wide_install_serves_every_workspace_of_its_org(store: RunStore) -> None:
    found_in = store.installations(Sealer(KEY))
    org = installation("", enterprise="E1", is_enterprise_install=True, team_id=None)
    await found_in.async_save(org)
    found = await found_in.async_find_bot(
        enterprise_id="E1", team_id="T7", is_enterprise_install=True
    )
    assert found is not None
    assert found.enterprise_id == "E1"
    # A workspace install in another org, or a workspace's own, is a different row.
    assert await found_in.async_find_bot(enterprise_id="E2", team_id="T7") is None
    assert await found_in.async_find_bot(enterprise_id="E1", team_id="T7") is None


async def test_a_reinstall_replaces_and_an_uninstall_forgets(store: RunStore) -> None:
    found_in = store.installations(Sealer(KEY))
    await found_in.async_save(installation("T2"))
    await found_in.async_save(installation("T2", bot_token="xoxb-new"))
    bot = await found_in.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None
    assert bot.bot_token == "xoxb-new"
    assert len(await raw_rows(store)) == 1
    await found_in.async_delete_all(enterprise_id=None, team_id="T2")
    assert await found_in.async_find_bot(enterprise_id=None, team_id="T2") is None


async def test_keys_rotate_the_first_seals_and_all_open(store: RunStore) -> None:
    await store.installations(Sealer(OLD_KEY)).async_save(installation("T2"))
    rotated = store.installations(Sealer(f"{KEY},{OLD_KEY}"))
    bot = await rotated.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None
    assert bot.bot_token == TOKEN
    await rotated.async_save(installation("T3"))
    new_only = store.installations(Sealer(KEY))
    assert await new_only.async_find_bot(enterprise_id=None, team_id="T3") is not None
    # Without the old key the old row cannot be opened: not installed (logged), no crash.
    assert await new_only.async_find_bot(enterprise_id=None, team_id="T2") is None


@pytest.mark.parametrize("keys", ["", "not-a-key", f"{A_KEY},short", "x" * 44])
def test_a_key_list_that_is_not_fernet_keys_is_named_without_echoing_it(keys: str) -> None:
    problem = keys_problem(keys)
    assert problem is not None
    assert "Fernet" in problem
    assert not keys or keys not in problem


def test_good_key_lists_pass() -> None:
    assert keys_problem(KEY) is None
    assert keys_problem(f" {KEY} , {OLD_KEY} ") is None


async def test_an_oauth_state_is_consumed_once_and_expires(
    store: RunStore, clock: FakeClock
) -> None:
    states = store.oauth_states()
    first, second = await states.async_issue(), await states.async_issue()
    assert first != second
    assert await states.async_consume(first)
    assert not await states.async_consume(first)
    assert not await states.async_consume("made-up")
    assert not await states.async_consume("")
    clock.advance(STATE_TTL_S + 1)
    assert not await states.async_consume(second)


async def test_states_are_shared_by_stores_on_one_database(database_url: str) -> None:
    one, two = await RunStore.open(database_url), await RunStore.open(database_url)
    try:
        state = await one.oauth_states().async_issue()
        assert await two.oauth_states().async_consume(state)
        assert not await one.oauth_states().async_consume(state)
    finally:
        await one.close()
        await two.close()
