"""Fake LLMs shipped with the library: for tests, the offline demo and the sandbox.

Each double implements the `LLM` protocol itself, as pydantic-ai's `TestModel` and
`FunctionModel` each implement `Model`; what they share (recording calls, streaming a
reply in chunks) is one function, `_complete`. `simple_plan` is the one builder of fake
plans, for these doubles and for the fake Anthropic API alike."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.config import Role
from pipeline.follow_ups import LABEL as FOLLOW_UPS_LABEL
from pipeline.llm import LLMReply, LLMRequest, TextCallback, Usage

Responder = Callable[[LLMRequest], "LLMReply | str | Awaitable[LLMReply | str]"]


def estimate_usage(request: LLMRequest, text: str) -> Usage:
    """Deterministic token counts (about 4 characters a token) for fake replies."""
    prompt = len(request.system) + sum(len(m.content) for m in request.messages)
    return Usage(input_tokens=max(1, prompt // 4), output_tokens=max(1, len(text) // 4))


@dataclass(frozen=True, slots=True)
class Aspect:
    """One subtask of a fake plan before it gets its id: who works on what, told how."""

    role: str
    task: str
    system_prompt: str


def numbered_aspects(count: int) -> list[Aspect]:
    """Aspects 1..count. Tests and faults pick a subtask out by "aspect 2" in its prompts."""
    return [
        Aspect(
            role=f"Researcher of aspect {i}",
            task=f"Describe aspect {i}.",
            system_prompt=f"You research aspect {i} of the goal.",
        )
        for i in range(1, count + 1)
    ]


def simple_plan(
    goal: str,
    aspects: int | Sequence[Aspect] = 3,
    *,
    depends: Mapping[str, Sequence[str]] | None = None,
    needs_web: Collection[str] = (),
) -> dict[str, Any]:
    """A valid plan, as the orchestrator's JSON, with subtasks s1, s2, ... in order.

    Args:
        goal: the plan's restated goal (a goal under 3 characters is padded to be valid).
        aspects: how many numbered aspects (`numbered_aspects`), or the aspects themselves.
        depends: subtask id -> the ids it depends on; the rest are independent.
        needs_web: ids of the subtasks that ask for web tools.
    """
    chosen = numbered_aspects(aspects) if isinstance(aspects, int) else aspects
    depends = depends or {}
    subtasks: list[dict[str, Any]] = []
    for i, aspect in enumerate(chosen, start=1):
        subtask: dict[str, Any] = {
            "id": f"s{i}",
            "role": aspect.role,
            "system_prompt": aspect.system_prompt,
            "input": aspect.task,
            "output_format": "markdown",
            "depends_on": list(depends.get(f"s{i}", ())),
        }
        # Left out unless asked, as a model may leave it out: the plan's default must hold.
        if subtask["id"] in needs_web:
            subtask["needs_web"] = True
        subtasks.append(subtask)
    return {"goal": goal[:400] if len(goal) >= 3 else f"Research {goal}", "subtasks": subtasks}


class _Recording(Protocol):
    """What a double records of its calls."""

    requests: list[LLMRequest]
    replies: list[tuple[LLMRequest, LLMReply]]
    in_flight: int
    max_in_flight: int


async def _complete(
    double: _Recording,
    request: LLMRequest,
    answer: Callable[[], Awaitable[LLMReply | str]],
    on_text: TextCallback | None,
    chunk_chars: int,
) -> LLMReply:
    """One call to a double: record it, get its answer, stream that in chunks if asked."""
    double.requests.append(request)
    double.in_flight += 1
    double.max_in_flight = max(double.max_in_flight, double.in_flight)
    try:
        answered = await answer()
        reply = (
            answered
            if isinstance(answered, LLMReply)
            else LLMReply(answered, estimate_usage(request, answered), request.model, "end_turn")
        )
        if on_text is not None:
            for start in range(0, len(reply.text), chunk_chars):
                await on_text(reply.text[start : start + chunk_chars])
        double.replies.append((request, reply))
        return reply
    finally:
        double.in_flight -= 1


class FunctionLLM:
    """An LLM backed by a function of the request; streams its text in small chunks."""

    def __init__(self, respond: Responder, *, chunk_chars: int = 40) -> None:
        self._respond = respond
        self._chunk_chars = chunk_chars
        self.requests: list[LLMRequest] = []
        self.replies: list[tuple[LLMRequest, LLMReply]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """Answer with whatever the function returns (or raise what it raises)."""

        async def answer() -> LLMReply | str:
            answered = self._respond(request)
            return await answered if inspect.isawaitable(answered) else answered

        return await _complete(self, request, answer, on_text, self._chunk_chars)

    def requests_for(self, role: Role) -> list[LLMRequest]:
        """The requests made for one role."""
        return [r for r in self.requests if r.role == role]


@dataclass
class ScriptedLLM:
    """An LLM that answers per role from a script, with latencies and queued failures.

    `plan` is the orchestrator's JSON (default: `simple_plan` of the goal); `outputs` maps a
    subtask label (its id) to its text; `failures` maps a label ("plan", a subtask id,
    "integrate") to exceptions raised by its next calls, in order."""

    plan: Mapping[str, Any] | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    answer: str = "Integrated answer."
    follow_ups: tuple[str, ...] = ("What next?",)
    latency: Mapping[str, float] = field(default_factory=dict)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    chunk_chars: int = 40
    requests: list[LLMRequest] = field(default_factory=list, init=False)
    replies: list[tuple[LLMRequest, LLMReply]] = field(default_factory=list, init=False)
    in_flight: int = field(default=0, init=False)
    max_in_flight: int = field(default=0, init=False)

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """Answer from the script, after the request's latency (or raise its queued failure)."""
        return await _complete(
            self, request, lambda: self._respond(request), on_text, self.chunk_chars
        )

    def requests_for(self, role: Role) -> list[LLMRequest]:
        """The requests made for one role."""
        return [r for r in self.requests if r.role == role]

    async def _respond(self, request: LLMRequest) -> str:
        await asyncio.sleep(self.latency.get(request.label, self.latency.get(request.role, 0.0)))
        queued = self.failures.get(request.label)
        if queued:
            raise queued.pop(0)
        if request.label == FOLLOW_UPS_LABEL:
            return json.dumps({"follow_up_questions": list(self.follow_ups)})
        match request.role:
            case "orchestrator":
                goal = request.messages[0].content
                return json.dumps(self.plan if self.plan is not None else simple_plan(goal))
            case "subagent":
                return self.outputs.get(request.label, f"Result of {request.label}.")
            case "integrator":
                return self.answer
