"""How the garbage collector runs in a serving process, once its start-up is done.

- What start-up built (SDK modules, clients, the app) lives as long as the process: frozen
  out of the collector's passes, which otherwise scan ~300k objects and pause the event loop
  (and every ack) for 100-250 ms (bench/PROFILE_NOTES.md).
- The youngest generation is collected less often than CPython's default. It is collected
  whenever container objects made minus those freed pass its threshold (700): a run keeps
  thousands alive for its seconds (tasks, coroutines, its view, its spans until they are
  exported), so at 700 each pass finds them still alive, moves them on to the older
  generations and scans them again there, freeing nothing. At `YOUNG_THRESHOLD` most of them
  are gone before a pass comes (bench 5 and 11 measure the CPU per run; bench 1 the acks).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze what exists now and collect the young generation at `YOUNG_THRESHOLD`."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
