"""Loopback ports for processes a test starts: each pytest-xdist worker draws from its own range.

A port that is bound, released and handed to a child process can be taken in between by anyone
who binds port 0. Ephemeral ports (port 0, outgoing connections) come from the kernel's range,
32768-60999 on Linux; ours lie below it, one block per worker, so parallel workers never hand
out the same port and no ephemeral bind lands on one.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

_BASE = 20_000
_BLOCK = 1_000  # ports per worker: 12 workers fit below the kernel's ephemeral range


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3" under pytest-xdist
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


_start = _BASE + _BLOCK * _worker_index()
# A random start within the block: a second pytest run beside this one rarely overlaps.
_candidates = itertools.cycle(
    _start + (offset % _BLOCK) for offset in range(random.randrange(_BLOCK), 2 * _BLOCK)
)


def free_port() -> int:
    """A loopback port of this worker's block that nothing listens on now."""
    for _ in range(_BLOCK):
        port = next(_candidates)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {_start}..{_start + _BLOCK - 1}")
