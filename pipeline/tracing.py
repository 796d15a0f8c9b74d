"""The tracing hook: a run's stages as spans, for whoever traces (the Slack app's OpenTelemetry).

The pipeline knows no tracing library. It tells a `Tracing` where each stage of a run begins and
ends (the plan, each subagent, the integrator, the suggested follow-ups) and what happens inside
one (a retry); the caller decides what that becomes. The default does nothing and costs a
`nullcontext`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Literal, Protocol

Stage = Literal["plan", "subagent", "integrator", "follow_ups"]
NoteValue = str | int | float | bool


class Tracing(Protocol):
    """Where a run's stages begin and end, and what happens inside them."""

    def stage(self, stage: Stage, subtask_id: str | None = None) -> AbstractContextManager[None]:
        """A context around one stage; the Claude calls made inside it belong to it."""
        ...

    def note(self, name: str, attributes: Mapping[str, NoteValue]) -> None:
        """Something that happened in the stage going on (e.g. a retry), with its details:
        ids, counts and kinds only, never a prompt or an answer."""
        ...


class NoTracing:
    """The default: stages are not traced."""

    def stage(self, stage: Stage, subtask_id: str | None = None) -> AbstractContextManager[None]:
        """A context that does nothing."""
        return nullcontext()

    def note(self, name: str, attributes: Mapping[str, NoteValue]) -> None:
        """Nothing to note."""


NO_TRACING: Tracing = NoTracing()
