"""The run registry: dedupes Slack deliveries, owns every run task, cancels, shuts down."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from pipeline.view import RunView

logger = logging.getLogger(__name__)

RESTART_NOTE = (
    ":warning: Interrupted: Orchestra restarted while this run was live. "
    "Ask again (the same command or mention) to re-run it."
)


@dataclass
class LiveRun:
    """A run the app is executing or has recently finished."""

    run_id: str
    requester: str
    channel: str
    thread_ts: str
    view: RunView | None = None
    task: asyncio.Task[None] | None = None
    cancel_note: str = ""  # what the thread says when the run is cancelled, and why
    outputs_posted: set[str] = field(default_factory=set)
    ended: bool = False  # the thread (or the requester) has been told how the run ended


class RunRegistry:
    """Tracks runs so none is fire-and-forget; remembers recent keys and finished runs."""

    def __init__(self, *, remember_keys: int = 10_000, remember_runs: int = 500) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._remember_keys = remember_keys
        self._runs: OrderedDict[str, LiveRun] = OrderedDict()
        self._remember_runs = remember_runs
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    def claim(self, *keys: str) -> bool:
        """True the first time any of `keys` is seen; False for a repeat delivery.

        Slack resends events it thinks were lost, and one message can arrive as two events;
        every key of a request is remembered so any of them marks a repeat."""
        if any(k in self._keys for k in keys):
            for k in keys:
                self._keys[k] = None
            return False
        for k in keys:
            self._keys[k] = None
            while len(self._keys) > self._remember_keys:
                self._keys.popitem(last=False)
        return True

    def start(self, run: LiveRun, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` as a tracked task belonging to `run`."""
        task = asyncio.create_task(work, name=f"run:{run.run_id}")
        run.task = task
        self._tasks.add(task)
        self._runs[run.run_id] = run
        while len(self._runs) > self._remember_runs:
            oldest = next(iter(self._runs.values()))
            if oldest.task is not None and not oldest.task.done():
                break
            self._runs.pop(oldest.run_id)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("run task %s crashed", task.get_name(), exc_info=task.exception())

    def get(self, run_id: str) -> LiveRun | None:
        """A live or recently finished run."""
        return self._runs.get(run_id)

    @property
    def live(self) -> list[LiveRun]:
        """Runs still executing."""
        return [r for r in self._runs.values() if r.task is not None and not r.task.done()]

    @property
    def task_count(self) -> int:
        """How many run tasks are alive (for leak checks)."""
        return len(self._tasks)

    def cancel(self, run_id: str, by: str) -> bool:
        """Cancel a live run; False if it is unknown or already over."""
        run = self._runs.get(run_id)
        if run is None or run.task is None or run.task.done():
            return False
        run.cancel_note = f":black_square_for_stop: Cancelled by <@{by}>."
        run.task.cancel()
        return True

    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop accepting runs, cancel the live ones and wait (bounded) for them to end."""
        self.accepting = False
        for run in self.live:
            run.cancel_note = RESTART_NOTE
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            if pending:
                logger.warning("%d runs did not stop within %.0fs", len(pending), timeout_s)
