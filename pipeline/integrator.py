"""The integrator step: merge successful results (and name the failures) into one answer."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline import prompts, words
from pipeline.context import RunContext, why_cut
from pipeline.errors import AllSubtasksFailed, Refused
from pipeline.events import IntegrationDelta, IntegrationStarted
from pipeline.llm import LLMRequest, Message
from pipeline.models import Plan, SubtaskOutcome, number_sources


async def integrate(
    ctx: RunContext, goal: str, plan: Plan, outcomes: Mapping[str, SubtaskOutcome]
) -> tuple[str, str]:
    """Stream the integrated answer; never called with nothing to integrate.

    Returns:
        The answer, and why it is not whole (words.answer_cut; "" when it is).

    Raises:
        Refused: Claude declined to write it.
    """
    finished = [t for t in plan.subtasks if outcomes[t.id].status == "done"]
    # Numbered as the run's result numbers them (RunResult.sources), so [n] means one page.
    sources = number_sources([outcomes[t.id] for t in finished])
    number = {source.url: n for n, source in enumerate(sources, start=1)}
    results = [
        prompts.Finding(
            t,
            outcomes[t.id].output,
            tuple(number[s.url] for s in outcomes[t.id].sources),
            outcomes[t.id].cut,
        )
        for t in finished
    ]
    failures = [(t, outcomes[t.id].error) for t in plan.subtasks if outcomes[t.id].status != "done"]
    if not results:
        raise AllSubtasksFailed(
            f"Every subtask failed ({len(failures)} of {len(failures)}), so there is no answer."
        )
    await ctx.emit(
        IntegrationStarted(
            run_id=ctx.run_id,
            at=ctx.now(),
            failed=tuple(t.id for t, _ in failures),
        )
    )
    chunks: list[str] = []

    def restart() -> None:
        # A retried stream starts over; the snapshot in the next delta says so.
        chunks.clear()

    async def on_text(delta: str) -> None:
        chunks.append(delta)
        await ctx.emit(
            IntegrationDelta(run_id=ctx.run_id, at=ctx.now(), delta=delta, text="".join(chunks))
        )

    request = LLMRequest(
        role="integrator",
        model=ctx.config.integrator_model,
        system=prompts.INTEGRATOR_SYSTEM,
        messages=(
            Message(
                "user",
                prompts.integrator_user(
                    goal, results, failures, sources, await ctx.steers(), ctx.instructions
                ),
            ),
        ),
        max_tokens=ctx.config.integrator_max_tokens,
        label="integrate",
    )
    reply = await ctx.call(request, on_text=on_text, before_attempt=restart)
    if reply.stop_reason == "refusal":
        raise Refused(words.REFUSED_ANSWER)
    why = why_cut(reply, request.max_tokens)
    return reply.text.strip(), words.answer_cut(why) if why else ""
