"""The seed's patterns, written plainly as baselines on the same fake Claude and the same
SDK: a sequential loop, and a gather fan-out. No events, no Slack, no retries, no
validation: what is left is the LLM latency plus the least code that can drive it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
from anthropic.types import Message

from bench.plans import Case, levels

MODEL = "claude-haiku-4-5"
# Structured output is what makes the fake (and our planner) treat a call as the plan call.
PLAN_FORMAT = {"format": {"type": "json_schema", "schema": {"type": "object"}}}


async def _ask(client: anthropic.AsyncAnthropic, system: str, text: str, **extra: Any) -> str:
    message: Message = await client.messages.create(
        model=MODEL,
        max_tokens=1024,
        system=system,
        messages=[{"role": "user", "content": text}],
        **extra,
    )
    return "".join(block.text for block in message.content if block.type == "text")


async def _plan(client: anthropic.AsyncAnthropic, goal: str) -> list[dict[str, Any]]:
    text = await _ask(client, "Plan subtasks.", goal, output_config=PLAN_FORMAT)
    subtasks: list[dict[str, Any]] = json.loads(text)["subtasks"]
    return subtasks


async def _integrate(client: anthropic.AsyncAnthropic, goal: str, outputs: list[str]) -> str:
    # Streamed, as our integrator is: the same call on both sides, and the fake knows the
    # integrator's call by its streaming.
    async with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        system="You are the integrator of a research team.",
        messages=[{"role": "user", "content": goal + "\n\n" + "\n\n".join(outputs)}],
    ) as stream:
        return await stream.get_final_text()


async def naive(client: anthropic.AsyncAnthropic, goal: str) -> str:
    """Plan, then one subtask call after another, then integrate."""
    outputs = []
    for task in await _plan(client, goal):
        outputs.append(await _ask(client, task["system_prompt"], task["input"]))
    return await _integrate(client, goal, outputs)


async def gather(client: anthropic.AsyncAnthropic, goal: str, case: Case) -> str:
    """Plan, `asyncio.gather` the subtasks, integrate.

    A plan with dependencies is gathered level by level (a dependent needs its inputs), and
    the same concurrency cap as ours bounds each gather, so both sides make the same calls
    under the same rule and the ratio compares code, not policy."""
    tasks = {t["id"]: t for t in await _plan(client, goal)}
    slots = asyncio.Semaphore(case.concurrency)

    async def one(task: dict[str, Any]) -> str:
        async with slots:
            return await _ask(client, task["system_prompt"], task["input"])

    outputs: list[str] = []
    for level in levels(case):
        outputs += await asyncio.gather(*(one(tasks[step.id]) for step in level))
    return await _integrate(client, goal, outputs)
