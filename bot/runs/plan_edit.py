"""A plan edited in Slack's modal (issue 22.3): the modal's inputs from a plan, and the plan
back from the submitted values, or an error per field (Slack's `response_action: errors`).

Each subtask is two inputs, its title (the role shown on the plan) and its instructions (the
input its subagent is told); clearing both removes it; empty slots after them add subtasks.
Slack's text inputs hold 3,000 characters: longer instructions are shown cut and kept whole
unless edited. A removed subtask's dependents inherit its own dependencies, so what ran in
order still does."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from bot.render.text import (
    INPUT_LABEL_LIMIT,
    INPUT_VALUE_LIMIT,
    MODAL_BLOCK_LIMIT,
    SUBTASK_TITLE_CHARS,
)
from pipeline import Plan, SubTask

NEW_SYSTEM_PROMPT = (
    "You are a careful researcher. Do the task you are given thoroughly and say where"
    " each fact comes from."
)


def title_block(sid: str) -> str:
    return f"title:{sid}"


def input_block(sid: str) -> str:
    return f"input:{sid}"


def new_slots(plan: Plan, max_subtasks: int) -> list[str]:
    """Ids of the empty slots the modal offers for added subtasks."""
    taken = {t.id for t in plan.subtasks}
    free = max(0, max_subtasks - len(plan.subtasks))
    slots: list[str] = []
    n = 1
    while len(slots) < free:
        if f"new{n}" not in taken:
            slots.append(f"new{n}")
        n += 1
    return slots


def edited_plan(
    plan: Plan, values: Mapping[str, str | None], *, low: int, high: int
) -> Plan | dict[str, str]:
    """The plan as submitted, or a message per block id that must change."""
    errors: dict[str, str] = {}
    kept: list[SubTask] = []
    removed: dict[str, list[str]] = {}
    for task in plan.subtasks:
        title = (values.get(title_block(task.id)) or "").strip()
        text = (values.get(input_block(task.id)) or "").strip()
        if not title and not text:
            removed[task.id] = list(task.depends_on)
            continue
        if len(title) < 3:
            errors[title_block(task.id)] = "A title needs 3 characters (clear both to remove)."
            continue
        if len(text) < 3:
            errors[input_block(task.id)] = "Instructions need 3 characters (clear both to remove)."
            continue
        if len(task.input) > INPUT_VALUE_LIMIT and text == task.input[:INPUT_VALUE_LIMIT].strip():
            text = task.input  # shown cut, not edited: kept whole
        kept.append(task.model_copy(update={"role": title[:SUBTASK_TITLE_CHARS], "input": text}))
    for sid in new_slots(plan, high):
        title = (values.get(title_block(sid)) or "").strip()
        text = (values.get(input_block(sid)) or "").strip()
        if not title and not text:
            continue
        if len(title) < 3:
            errors[title_block(sid)] = "A new subtask needs a title of 3 characters or more."
        elif len(text) < 3:
            errors[input_block(sid)] = "A new subtask needs instructions."
        else:
            kept.append(
                SubTask(
                    id=sid,
                    role=title[:SUBTASK_TITLE_CHARS],
                    system_prompt=NEW_SYSTEM_PROMPT,
                    input=text,
                )
            )
    if errors:
        return errors
    first = title_block(plan.subtasks[0].id) if plan.subtasks else "plan"
    if not low <= len(kept) <= high:
        return {first: f"A plan needs {low} to {high} subtasks; this one has {len(kept)}."}
    kept = [t.model_copy(update={"depends_on": _inherit(t.depends_on, removed)}) for t in kept]
    try:
        return Plan.model_validate(
            {"goal": plan.goal, "subtasks": [t.model_dump() for t in kept]},
            context={"min": low, "max": high},
        )
    except ValidationError as exc:
        return {first: str(exc.errors()[0]["msg"])[:150]}


def _inherit(depends_on: list[str], removed: Mapping[str, list[str]]) -> list[str]:
    """`depends_on` with each removed subtask replaced by its own dependencies."""
    out: list[str] = []
    todo, seen = list(depends_on), set()
    while todo:
        sid = todo.pop(0)
        if sid in seen:
            continue
        seen.add(sid)
        if sid in removed:
            todo.extend(removed[sid])
        elif sid not in out:
            out.append(sid)
    return out


EDIT_CALLBACK = "orchestra_plan_edit"


def _text_input(
    block_id: str, label: str, value: str, limit: int, multiline: bool
) -> dict[str, object]:
    element: dict[str, object] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": limit,
        "multiline": multiline,
    }
    if value:
        element["initial_value"] = value[:limit]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": {"type": "plain_text", "text": label[:INPUT_LABEL_LIMIT]},
        "element": element,
    }


def edit_modal(run_id: str, plan: Plan, max_subtasks: int) -> dict[str, object]:
    """The modal listing every subtask's title and instructions, pre-filled, and empty slots
    to add subtasks (within Slack's 100 blocks: 20 subtasks take 60)."""
    blocks: list[dict[str, object]] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Change a subtask, clear both its fields to remove it, or fill an"
                    " empty one to add one. Submitting approves the plan.",
                }
            ],
        }
    ]
    for task in plan.subtasks:
        blocks.append(
            _text_input(
                title_block(task.id), f"{task.id}: title", task.role, SUBTASK_TITLE_CHARS, False
            )
        )
        blocks.append(
            _text_input(
                input_block(task.id),
                f"{task.id}: instructions",
                task.input,
                INPUT_VALUE_LIMIT,
                True,
            )
        )
    for sid in new_slots(plan, max_subtasks):
        blocks.append(
            _text_input(title_block(sid), "New subtask: title", "", SUBTASK_TITLE_CHARS, False)
        )
        blocks.append(
            _text_input(input_block(sid), "New subtask: instructions", "", INPUT_VALUE_LIMIT, True)
        )
    return {
        "type": "modal",
        "callback_id": EDIT_CALLBACK,
        "private_metadata": run_id,
        "title": {"type": "plain_text", "text": "Edit the plan"},
        "submit": {"type": "plain_text", "text": "Approve"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": blocks[:MODAL_BLOCK_LIMIT],
    }


def submitted_values(view: Mapping[str, object]) -> dict[str, str | None]:
    """Block id -> submitted text, from a view_submission's `view` (untrusted shape)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    out: dict[str, str | None] = {}
    if not isinstance(values, Mapping):
        return out
    for block_id, actions in values.items():
        if isinstance(actions, Mapping):
            for action in actions.values():
                if isinstance(action, Mapping):
                    value = action.get("value")
                    out[str(block_id)] = value if isinstance(value, str) else None
    return out
