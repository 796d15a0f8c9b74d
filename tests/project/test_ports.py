"""Each pytest-xdist worker hands out loopback ports from its own block."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ports_of(worker: str) -> set[int]:
    probe = "from tests.ports import free_port; print(*(free_port() for _ in range(50)))"
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PYTEST_XDIST_WORKER": worker, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {int(p) for p in done.stdout.split()}


def test_two_workers_never_share_a_port_and_stay_below_the_ephemeral_range() -> None:
    first, second = _ports_of("gw0"), _ports_of("gw1")
    assert first.isdisjoint(second)
    assert all(20_000 <= p < 21_000 for p in first)
    assert all(21_000 <= p < 22_000 for p in second)
