"""Effort a request chooses (`--quick`, the default, `--deep`): how big its plan may be, how
much each call may write, and whether subagents may read pages from the web.

Effort reshapes the run's `PipelineConfig` (one frozen value, as every run's), so every
part of the pipeline reads its limits from one place."""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

from pipeline.config import PipelineConfig

Effort = Literal["quick", "deep"]  # None: the default
EFFORTS: tuple[Effort, ...] = get_args(Effort)

# A quick run's caps: two subtasks (the fewest a plan may have), short outputs, no fetched
# pages (search alone answers quickly; a fetched page adds up to 10,000 input tokens).
QUICK_SUBAGENT_TOKENS = 1024
QUICK_INTEGRATOR_TOKENS = 2048
# A deep run's: at least three subtasks up to ORCHESTRA_MAX_SUBTASKS, twice the output.
DEEP_MIN_SUBTASKS = 3
DEEP_FACTOR = 2
_MOST_TOKENS = 128_000  # the most any current model writes in one reply


def is_effort(value: str | None) -> TypeGuard[Effort]:
    """Whether `value` names an effort ("" and None are the default)."""
    return value in EFFORTS


def with_effort(config: PipelineConfig, effort: str | None) -> PipelineConfig:
    """The configuration of a run at `effort` (the default: `config` as it is)."""
    match effort:
        case "quick":
            return config.model_copy(
                update={
                    "min_subtasks": 2,
                    "max_subtasks": 2,
                    "web_fetch": False,
                    "subagent_max_tokens": min(config.subagent_max_tokens, QUICK_SUBAGENT_TOKENS),
                    "integrator_max_tokens": min(
                        config.integrator_max_tokens, QUICK_INTEGRATOR_TOKENS
                    ),
                }
            )
        case "deep":
            return config.model_copy(
                update={
                    "min_subtasks": max(
                        config.min_subtasks, min(DEEP_MIN_SUBTASKS, config.max_subtasks)
                    ),
                    "subagent_max_tokens": min(
                        config.subagent_max_tokens * DEEP_FACTOR, _MOST_TOKENS
                    ),
                    "integrator_max_tokens": min(
                        config.integrator_max_tokens * DEEP_FACTOR, _MOST_TOKENS
                    ),
                }
            )
        case _:
            return config
