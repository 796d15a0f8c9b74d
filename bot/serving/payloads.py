"""Pure: whether a verified request body has the shape Slack gives it, before Bolt reads it.

A signed body is from Slack, or from someone holding the signing secret; either way only
the shapes Slack sends may reach Bolt. Bolt and our listeners read fields as Slack documents
them (`body["event"]["type"]`, `body["actions"][0]["action_id"]`, `body["user"]["id"]`, ...)
and raise on anything else: an `event` that is a list, `actions: []`, a `user` that is a
string, a command without `response_url` gave a 500 and a traceback. Here every field that
Bolt or the app reads is checked for its type (null allowed where Slack may send it), the
fields they need are required, and everything else is left alone: a body that fails is
answered 400, as `bot.serving.verify` answers what it cannot parse.

Shapes from Slack's references (Events API envelope, `block_actions`, `view_submission`,
`shortcut`, slash commands; read 2026-12) and from what slack_bolt 1.x reads
(`slack_bolt.request.internals`, `payload_utils`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _flag(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _anything(value: Any) -> bool:
    return True


def _object(fields: Mapping[str, Check], required: tuple[str, ...] = ()) -> Check:
    """A JSON object (or null) whose known fields pass their checks; `required`: present
    and not null."""

    def check(value: Any) -> bool:
        if value is None:
            return not required
        if not isinstance(value, dict):
            return False
        if any(value.get(name) is None for name in required):
            return False
        return all(ok(value[name]) for name, ok in fields.items() if name in value)

    return check


def _required(check: Check) -> Check:
    """`check`, and not null."""
    return lambda value: value is not None and check(value)


def _list(item: Check, *, at_least: int = 0) -> Check:
    """A JSON array (or null) of items that each pass `item` (null items refused)."""

    def check(value: Any) -> bool:
        if value is None:
            return at_least == 0
        return (
            isinstance(value, list)
            and len(value) >= at_least
            and all(x is not None and item(x) for x in value)
        )

    return check


def _either(*checks: Check) -> Check:
    return lambda value: any(check(value) for check in checks)


_ID_FIELDS: dict[str, Check] = {
    "id": _text,
    "team_id": _text,
    "enterprise_id": _text,
    "name": _text,
}
_ID_OBJECT = _object(_ID_FIELDS)
_PERSON = _object(_ID_FIELDS, required=("id",))  # who clicked or submitted
_USER = _either(_text, _ID_OBJECT)  # an ID in events, an object in interactivity
_MESSAGE = _object(
    {
        "type": _text,
        "subtype": _text,
        "ts": _text,
        "thread_ts": _text,
        "text": _text,
        "user": _text,
        "bot_id": _text,
        "blocks": _list(_object({"type": _text, "block_id": _text})),
    }
)
_AUTHORIZATION = _object(
    {
        "enterprise_id": _text,
        "team_id": _text,
        "user_id": _text,
        "is_bot": _flag,
        "is_enterprise_install": _flag,
    }
)
_EVENT_FIELDS: dict[str, Check] = {
    "type": _text,
    "subtype": _text,
    "user": _USER,
    "user_id": _text,
    "user_team": _text,
    "team": _either(_text, _ID_OBJECT),
    "channel": _either(_text, _ID_OBJECT),
    "channel_id": _text,
    "channel_type": _text,
    "ts": _text,
    "thread_ts": _text,
    "event_ts": _text,
    "text": _text,
    "tab": _text,
    "bot_id": _text,
    "enterprise": _either(_text, _ID_OBJECT),
    "message": _MESSAGE,
    "previous_message": _MESSAGE,
    "item": _object({"type": _text, "channel": _text, "ts": _text}),
    "assistant_thread": _object(
        {"channel_id": _text, "thread_ts": _text, "user_id": _text, "context": _object({})}
    ),
    "streaming_message_ts": _list(_required(_text)),
    "function_execution_id": _text,
    "bot_access_token": _text,
    "inputs": _object({}),
}
# Events the app listens to, and what their listeners need.
_EVENT_NEEDS: dict[str, tuple[str, ...]] = {
    "app_mention": ("channel", "ts"),
    "message": ("channel", "ts"),
    "app_home_opened": ("user",),
    "agent_session_stopped": ("channel",),
}
_ENVELOPE: dict[str, Check] = {
    "token": _text,
    "team_id": _text,
    "api_app_id": _text,
    "enterprise_id": _text,
    "context_team_id": _text,
    "context_enterprise_id": _text,
    "event_id": _text,
    "event_time": _number,
    "is_enterprise_install": _flag,
    "is_ext_shared_channel": _flag,
    "authorizations": _list(_AUTHORIZATION),
    "challenge": _text,
}
_ACTION = _object(
    {
        "action_id": _text,
        "block_id": _text,
        "value": _text,
        "type": _text,
        "action_ts": _text,
        "selected_option": _object({"value": _text}),
    },
    required=("action_id",),
)
_VIEW = _object(
    {
        "id": _text,
        "type": _text,
        "callback_id": _text,
        "external_id": _text,
        "private_metadata": _text,
        "hash": _text,
        "team_id": _text,
        "app_installed_team_id": _text,
        "state": _object({"values": _object({})}),
    },
    required=("type",),
)
_INTERACTION: dict[str, Check] = {
    "token": _text,
    "api_app_id": _text,
    "team": _either(_text, _ID_OBJECT),
    "enterprise": _either(_text, _ID_OBJECT),
    "is_enterprise_install": _flag,
    "user": _PERSON,
    "channel": _ID_OBJECT,
    "message": _MESSAGE,
    "container": _object({"type": _text, "message_ts": _text, "channel_id": _text}),
    "response_url": _text,
    "response_urls": _list(_object({"response_url": _text, "channel_id": _text})),
    "trigger_id": _text,
    "callback_id": _text,
    "action_id": _text,
    "block_id": _text,
    "value": _text,
    "actions": _list(_ACTION),
    "view": _VIEW,
    "state": _object({"values": _object({})}),
    "function_data": _object({"execution_id": _text, "inputs": _object({})}),
    "function_execution_id": _text,
    "bot_access_token": _text,
}
# Interactivity payloads by type, and the fields that type cannot do without.
_INTERACTION_NEEDS: dict[str, tuple[str, ...]] = {
    "block_actions": ("actions", "user"),
    "view_submission": ("view", "user"),
    "view_closed": ("view", "user"),
    "shortcut": ("callback_id", "user"),
    "message_action": ("callback_id", "user"),
    "block_suggestion": ("action_id", "user"),
}
# A slash command is a form: every value a string. The app answers through response_url.
_COMMAND_NEEDS = ("command", "user_id", "channel_id", "response_url")


_ENVELOPE_OK = _object(_ENVELOPE)
_INTERACTION_OK = _object(_INTERACTION)
_INTERACTION_OF = {kind: _object(_INTERACTION, needs) for kind, needs in _INTERACTION_NEEDS.items()}
_ACTIONS_OK = _list(_ACTION, at_least=1)  # Bolt reads the first action
_EVENT_OK = _object(_EVENT_FIELDS)
_EVENT_OF = {kind: _object(_EVENT_FIELDS, needs) for kind, needs in _EVENT_NEEDS.items()}


def well_formed(body: Mapping[str, Any]) -> bool:
    """Whether `body` (Bolt's parse of a verified request) is a shape Slack sends."""
    if "ssl_check" in body and "command" not in body and "type" not in body:
        return True  # Slack checking the certificate of a command's URL (Bolt answers 200)
    if "command" in body:
        return all(isinstance(body.get(name), str) and body[name] for name in _COMMAND_NEEDS)
    kind = body.get("type")
    if not isinstance(kind, str):
        return False
    if kind == "url_verification":
        return isinstance(body.get("challenge"), str)
    if kind == "event_callback":
        return _ENVELOPE_OK(body) and _event(body.get("event"))
    if "event" in body:
        return False  # an event outside its envelope
    if kind == "block_actions" and not _ACTIONS_OK(body.get("actions")):
        return False
    if kind in _INTERACTION_OF:
        return _INTERACTION_OF[kind](body)
    return _ENVELOPE_OK(body) and _INTERACTION_OK(body)


def _event(event: Any) -> bool:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return False
    if event["type"] not in _EVENT_OF:
        return _EVENT_OK(event)
    # The events the app handles carry a person's and a conversation's ID, not objects.
    ids = _text(event.get("user")) and _text(event.get("channel"))
    return ids and _EVENT_OF[event["type"]](event)
