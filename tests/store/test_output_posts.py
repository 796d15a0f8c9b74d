"""Full outputs posted on demand: one claim wins, later ones learn where it went; a claim
that never posted is given back, or taken again once stale (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from bot.store import OutputClaim, RunStore
from tests.store.conftest import FakeClock


async def _run(store: RunStore) -> str:
    return await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal="compare tea"
    )


async def test_one_of_many_claims_wins_and_the_rest_learn_where_it_went(store: RunStore) -> None:
    run_id = await _run(store)
    claims = await asyncio.gather(*(store.claim_output(run_id, "s1") for _ in range(10)))
    assert sum(c.won for c in claims) == 1
    assert all(c == OutputClaim(won=False, ts=None) for c in claims if not c.won)
    await store.output_posted(run_id, "s1", "111.222")
    assert await store.claim_output(run_id, "s1") == OutputClaim(won=False, ts="111.222")
    assert (await store.claim_output(run_id, "s2")).won  # another subtask is its own


async def test_a_claim_that_posted_nothing_is_given_back_or_goes_stale(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _run(store)
    assert (await store.claim_output(run_id, "s1")).won
    await store.release_output(run_id, "s1")
    assert (await store.claim_output(run_id, "s1")).won
    assert not (await store.claim_output(run_id, "s1", stale_s=60)).won
    clock.advance(61)  # its poster died before anything landed
    assert (await store.claim_output(run_id, "s1", stale_s=60)).won
    await store.output_posted(run_id, "s1", "1.2")
    clock.advance(3600)
    await store.release_output(run_id, "s1")  # posted: kept
    assert await store.claim_output(run_id, "s1", stale_s=60) == OutputClaim(won=False, ts="1.2")
