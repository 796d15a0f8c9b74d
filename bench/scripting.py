"""Scripting the fake Claude with a benchmark case: the plan, and each call's latency."""

from __future__ import annotations

from bench.plans import Case, marker, plan_json
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply

ANSWER = "Integrated answer from the benchmark."


def step_latency(case: Case, call: CallInfo) -> float:
    """The scripted latency of a subagent call, found by its step's marker."""
    for step in case.steps:
        if marker(step.id) in call.system_text:
            return step.latency
    raise LookupError(f"case {case.name}: a subagent call without a known step marker")


def script(claude: FakeAnthropic, case: Case) -> None:
    """Answer the orchestrator with `case`'s plan and every call after its latency."""
    claude.respond_plan(plan_json(case), latency=case.plan_latency)
    claude.respond(
        "subagent",
        lambda call: Reply(
            text=f"Findings for {call.user_text[:40]}", latency=step_latency(case, call)
        ),
    )
    claude.respond("integrator", lambda call: Reply(text=ANSWER, latency=case.integrator_latency))
