"""Fixtures for pipeline tests: configs and an event recorder."""

from __future__ import annotations

import asyncio

import pytest

from pipeline import PipelineConfig, PipelineEvent


class Recorder:
    """An EventSink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[PipelineEvent] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: PipelineEvent) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, kind: type[PipelineEvent], count: int = 1) -> None:
        """Wait until `count` events of `kind` have arrived."""
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: len(self.of(kind)) >= count)

    def of(self, kind: type[PipelineEvent]) -> list[PipelineEvent]:
        """Events of one type."""
        return [e for e in self.events if isinstance(e, kind)]

    def names(self) -> list[str]:
        """Event type names in order."""
        return [type(e).__name__ for e in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def config() -> PipelineConfig:
    # Fast retries so tests exercise the policy without waiting.
    return PipelineConfig(retry_initial_wait_s=0.01, retry_max_wait_s=0.05, call_timeout_s=5)
