"""Fake LLMs shipped with the library: for tests, the offline demo and the sandbox."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Role
from pipeline.llm import LLMReply, LLMRequest, TextCallback, Usage

Responder = Callable[[LLMRequest], "LLMReply | str | Awaitable[LLMReply | str]"]


def estimate_usage(request: LLMRequest, text: str) -> Usage:
    """Deterministic token counts (about 4 characters a token) for fake replies."""
    prompt = len(request.system) + sum(len(m.content) for m in request.messages)
    return Usage(input_tokens=max(1, prompt // 4), output_tokens=max(1, len(text) // 4))


def simple_plan(goal: str, count: int = 3) -> dict[str, Any]:
    """A valid plan of `count` independent subtasks for `goal`."""
    return {
        "goal": goal[:400] if len(goal) >= 3 else f"Research {goal}",
        "subtasks": [
            {
                "id": f"s{i}",
                "role": f"Researcher for aspect {i}",
                "system_prompt": f"You research aspect {i} of the goal.",
                "input": f"Aspect {i} of: {goal}",
                "output_format": "markdown",
                "depends_on": [],
            }
            for i in range(1, count + 1)
        ],
    }


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
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            answer = self._respond(request)
            if inspect.isawaitable(answer):
                answer = await answer
            reply = (
                answer
                if isinstance(answer, LLMReply)
                else LLMReply(answer, estimate_usage(request, answer), request.model, "end_turn")
            )
            if on_text is not None:
                for start in range(0, len(reply.text), self._chunk_chars):
                    await on_text(reply.text[start : start + self._chunk_chars])
            self.replies.append((request, reply))
            return reply
        finally:
            self.in_flight -= 1

    def requests_for(self, role: Role) -> list[LLMRequest]:
        """The requests made for one role."""
        return [r for r in self.requests if r.role == role]


@dataclass
class ScriptedLLM:
    """An LLM that answers per role from a script, with latencies and queued failures.

    `plan` is the orchestrator's JSON; `outputs` maps a subtask label (its id) to its text;
    `failures` maps a label ("plan", a subtask id, "integrate") to exceptions raised by its
    next calls, in order."""

    plan: Mapping[str, Any] | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    answer: str = "Integrated answer."
    latency: Mapping[str, float] = field(default_factory=dict)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.llm = FunctionLLM(self._respond)

    @property
    def requests(self) -> list[LLMRequest]:
        """Every request made so far."""
        return self.llm.requests

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """Delegate to the function-backed fake."""
        return await self.llm.complete(request, on_text)

    async def _respond(self, request: LLMRequest) -> str:
        await asyncio.sleep(self.latency.get(request.label, self.latency.get(request.role, 0.0)))
        queued = self.failures.get(request.label)
        if queued:
            raise queued.pop(0)
        match request.role:
            case "orchestrator":
                goal = request.messages[0].content
                return json.dumps(self.plan if self.plan is not None else simple_plan(goal))
            case "subagent":
                return self.outputs.get(request.label, f"Result of {request.label}.")
            case "integrator":
                return self.answer
