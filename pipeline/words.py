"""The pipeline's own sentences about how a reply ended, in one place (displays quote them).

Claude's `stop_reason` says whether a reply is whole: `end_turn` (and `stop_sequence`) is,
`max_tokens` and `model_context_window_exceeded` cut it, `pause_turn` left a web turn
unfinished, and `refusal` means Claude declined. Every display shows these words as they are.
"""

from __future__ import annotations

# Stop reasons after which the text is only the start of what Claude would have written.
CUT_STOP_REASONS = frozenset({"max_tokens", "model_context_window_exceeded", "pause_turn"})

REFUSED_SUBTASK = "Claude declined this subtask (it stopped with a refusal)."
REFUSED_ANSWER = "Claude declined to write the answer (it stopped with a refusal)."
REFUSED_PLAN = "Claude declined to plan this goal (it stopped with a refusal)."
ASKED_AGAIN = "Claude asked another question instead of planning, so nothing was run."


def cut_reason(stop_reason: str | None, max_tokens: int, continuations: int) -> str:
    """Why a reply ended before it was whole ("" when it is whole)."""
    match stop_reason:
        case "max_tokens":
            return f"it reached its length limit of {max_tokens:,} tokens"
        case "model_context_window_exceeded":
            return "it filled the model's context window"
        case "pause_turn":
            return f"it was still searching the web after {continuations} continuations"
        case _:
            return ""


def not_continued(why: str) -> str:
    """Why a paused web turn was not continued: `why` is the budget's own words."""
    return f"its web research stopped there, as {why.rstrip('.')}"


def nothing_usable(problem: str, reason: str) -> str:
    """A subtask that failed because its turn ended before it wrote anything usable."""
    return f"Nothing usable came back ({problem.rstrip('.')}): {reason}."


def output_cut(reason: str) -> str:
    """A subtask's plan entry (and its output, for the integrator) when its reply was cut."""
    return f"cut short: {reason}"


def answer_cut(reason: str) -> str:
    """The note under an answer the integrator could not finish."""
    return f"This answer was cut short: {reason}, so it may end mid-way."


# A subtask the run's deadline stopped (running) or kept from starting: "at the deadline" is
# the words every display and the integrator's note of what failed show.
CUT_AT_DEADLINE = "cut at the deadline"


def deadline_nothing_done(deadline_s: float) -> str:
    """A run whose deadline came before any subtask was done (no answer is written)."""
    return (
        f"Nothing was done by the deadline ({deadline_s:g} s of working time), so there "
        "is no answer. Continue runs the subtasks cut at the deadline."
    )


def deadline_before_plan(deadline_s: float) -> str:
    """A run whose deadline came while it was still planning."""
    return f"The deadline ({deadline_s:g} s of working time) came before a plan was ready."


def subagent_timed_out(timeout_s: float) -> str:
    """A subtask that ran past ORCHESTRA_SUBAGENT_TIMEOUT_S."""
    return f"It did not finish within its time limit of {timeout_s:g} s."
