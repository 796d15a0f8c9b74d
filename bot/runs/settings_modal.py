"""The settings modal (`/research settings`, issue 24.4): its blocks from a level's settings,
and the submitted values back (text inputs and chosen options alike) for
`bot.runs.channel_settings.parse_submission`.

One modal for both levels: "Save for" chooses this channel or the workspace's defaults (the
latter admins only, checked on submit); `/research settings workspace` opens it pre-filled
with the workspace's defaults instead of the channel's."""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot.render.text import INPUT_LABEL_LIMIT, INPUT_VALUE_LIMIT
from bot.runs import channel_settings as cs

SETTINGS_CALLBACK = "orchestra_settings"
_DOMAINS_HINT = "Bare domains, separated by commas: example.com, docs.example.org/api"

_SCOPE_OPTIONS = (("channel", "This channel"), ("workspace", "Workspace defaults (admins)"))
_SWITCH_OPTIONS = (("default", "As the workspace / deployment"), ("on", "On"), ("off", "Off"))
_EFFORT_OPTIONS = (
    ("default", "As the workspace / deployment"),
    ("quick", "Quick"),
    ("deep", "Deep"),
)
_MEMBERS_OPTIONS = (("off", "Admins only (default)"), ("on", "Any member of the channel"))


def _label(text: str) -> dict[str, object]:
    return {"type": "plain_text", "text": text[:INPUT_LABEL_LIMIT]}


def _text(
    block_id: str, label: str, value: str, *, multiline: bool, hint: str = ""
) -> dict[str, object]:
    element: dict[str, object] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": INPUT_VALUE_LIMIT,
        "multiline": multiline,
    }
    if value:
        element["initial_value"] = value[:INPUT_VALUE_LIMIT]
    block: dict[str, object] = {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": _label(label),
        "element": element,
    }
    if hint:
        block["hint"] = _label(hint)
    return block


def _select(
    block_id: str, label: str, options: tuple[tuple[str, str], ...], chosen: str
) -> dict[str, object]:
    listed = [
        {"text": {"type": "plain_text", "text": text}, "value": value} for value, text in options
    ]
    initial = next((o for o in listed if o["value"] == chosen), listed[0])
    return {
        "type": "input",
        "block_id": block_id,
        "label": _label(label),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": listed,
            "initial_option": initial,
        },
    }


def settings_modal(
    channel: str, settings: cs.LevelSettings, scope: cs.Scope, defaults_note: str
) -> dict[str, object]:
    """The modal for `channel`, pre-filled with `settings` (of `scope`); `defaults_note` says
    what applies where a field is left empty."""
    shown = cs.form_values(settings, scope)
    blocks: list[dict[str, object]] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": defaults_note[:3000]}]},
        _select(cs.SCOPE, "Save for", _SCOPE_OPTIONS, shown[cs.SCOPE]),
        _text(
            cs.INSTRUCTIONS,
            "Standing instructions for every run",
            shown[cs.INSTRUCTIONS],
            multiline=True,
            hint="For example: answer as tables, in German.",
        ),
        _text(
            cs.ALLOWED,
            "Web: only these domains",
            shown[cs.ALLOWED],
            multiline=False,
            hint=_DOMAINS_HINT,
        ),
        _text(
            cs.BLOCKED,
            "Web: never these domains",
            shown[cs.BLOCKED],
            multiline=False,
            hint=_DOMAINS_HINT,
        ),
        _text(
            cs.BUDGET,
            "Daily budget of the channel, US$",
            shown[cs.BUDGET],
            multiline=False,
            hint="Empty: the workspace's or the deployment's. 0 stops every run.",
        ),
        _select(cs.REVIEW, "Plan review before subagents run", _SWITCH_OPTIONS, shown[cs.REVIEW]),
        _select(cs.EFFORT, "Default effort", _EFFORT_OPTIONS, shown[cs.EFFORT]),
        _select(
            cs.MEMBERS,
            "Workspace only: who may change a channel's settings",
            _MEMBERS_OPTIONS,
            shown[cs.MEMBERS],
        ),
    ]
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Orchestra settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def modal_channel(view: Mapping[str, object]) -> str:
    """The channel a submitted settings modal is for ("" when unreadable)."""
    try:
        meta = json.loads(str(view.get("private_metadata", "")))
    except ValueError:
        return ""
    return str(meta.get("channel", "")) if isinstance(meta, dict) else ""


def submitted(view: Mapping[str, object]) -> dict[str, str | None]:
    """Block id -> the submitted text or chosen option's value (untrusted shape)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    out: dict[str, str | None] = {}
    if not isinstance(values, Mapping):
        return out
    for block_id, actions in values.items():
        if not isinstance(actions, Mapping):
            continue
        for action in actions.values():
            if not isinstance(action, Mapping):
                continue
            value = action.get("value")
            option = action.get("selected_option")
            if isinstance(option, Mapping):
                value = option.get("value")
            out[str(block_id)] = value if isinstance(value, str) else None
    return out
