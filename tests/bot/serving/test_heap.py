"""A serving process, once started, freezes what start-up built and collects its young
objects less often (`bot.serving.heap`): checked in a process of its own, as it changes the
collector for the whole process."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.serving.heap import YOUNG_THRESHOLD

PROBE = """
import gc, json
before = gc.get_threshold()
from bot.serving import heap
heap.settle()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_settling_freezes_start_up_and_keeps_the_older_thresholds() -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(done.stdout)
    assert seen["after"] == [YOUNG_THRESHOLD, *seen["before"][1:]]
    assert seen["before"][0] < YOUNG_THRESHOLD
    assert seen["frozen"] > 1000  # the modules imported so far, at least
