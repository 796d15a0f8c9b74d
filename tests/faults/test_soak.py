"""The soak at a reduced size (the full one is `make soak`)."""

from __future__ import annotations

import pytest

from bench.soak import soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_soak_accounts_for_every_run_with_nothing_unhandled_or_left_behind() -> None:
    report = await soak(runs=60, seed=12)  # a seed whose draw reaches every kind of ending
    print("\n".join(report.lines()))
    assert report.unaccounted == []
    assert report.unhandled == []
    assert report.tasks_left == 0
    assert report.stray_tasks == 0
    assert sum(report.outcomes.values()) == 60
    # The faults really happened, and every kind of ending was reached.
    assert report.faults["claude"] > 10
    assert report.faults["slack"] > 3
    assert report.outcomes["cancelled"] == report.faults["cancel"] > 0
    assert report.outcomes["failed with a message"] > 0
    assert report.outcomes["answered (partial)"] > 0
    assert report.outcomes["told privately"] > 0
    assert report.ok
    assert report.elapsed_s < 60


async def test_soak_is_reproducible_from_its_seed() -> None:
    first, second = await soak(runs=20, seed=5), await soak(runs=20, seed=5)
    assert first.faults == second.faults
