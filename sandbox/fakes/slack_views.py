"""Modals, as the fake Slack serves them: views.open with a trigger id, and a person's submit
sent to the app as a `view_submission` (issue 22.3, Edit of a plan under review).

From Slack's reference (docs.slack.dev: reference/methods/views.open, interactivity/handling-
user-interaction "trigger_id … expires in 3 seconds … can only be used once", surfaces/modals,
reference/surfaces/views, reference/block-kit/blocks/input-block,
reference/block-kit/block-elements/plain-text-input-element; error list as mirrored in
slack-ruby/slack-api-ref views.open.json; read 2026-12-09):

- views.open needs no scope; `trigger_id` from an interaction (here: `FakeSlack.issue_trigger`),
  usable once (`exchanged_trigger_id` after) within 3 s (`expired_trigger_id`); one it never
  issued: `invalid_trigger_id`.
- a modal view: `type` "modal"; `title` plain_text ≤ 24 characters; ≤ 100 blocks; `callback_id`
  ≤ 255; `private_metadata` ≤ 3,000; `submit` (plain_text ≤ 24) required when it has input
  blocks; block ids unique and ≤ 255. An input block's `label` ≤ 2,000; a plain_text_input's
  `max_length` ≤ 3,000 and its `initial_value` not longer than it. A view that breaks these is
  refused with `invalid_arguments` and a `response_metadata.messages` line per problem.
- the submit: Slack POSTs `view_submission` (signed, form `payload=`) with `view.state.values`
  `{block_id: {action_id: {type, value}}}`; the app answers within 3 s with an empty body (the
  modal closes) or `{"response_action": "errors", "errors": {block_id: message}}` (stays open;
  each key must be an input block of the view). The client never sends a value longer than the
  input's `max_length`, nor an empty required one.
- a static_select (reference/block-kit/block-elements/select-menu-element, read 2026-12-05):
  1-100 `options`, each plain_text ≤ 75 with a `value` ≤ 150; `initial_option` one of them;
  submitted as `{type: static_select, selected_option: {text, value}}` (None when nothing is
  chosen); the client offers only its options."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from sandbox.fakes.signing import APP, TEAM, sign

if TYPE_CHECKING:
    from sandbox.fakes.slack import FakeSlack

TRIGGER_TTL_S = 3.0
TITLE_LIMIT = 24
BLOCKS_LIMIT = 100
CALLBACK_ID_LIMIT = 255
PRIVATE_METADATA_LIMIT = 3000
BLOCK_ID_LIMIT = 255
LABEL_LIMIT = 2000
INPUT_MAX_LENGTH = 3000
OPTIONS_LIMIT = 100
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150

_view_ids = itertools.count(1)


@dataclass
class Trigger:
    """A trigger id handed to the app with an interaction."""

    user: str
    issued_at: float
    used: bool = False


@dataclass
class OpenView:
    """A modal open for a person."""

    view_id: str
    user: str
    view: dict[str, Any]
    closed: bool = False
    errors: list[dict[str, str]] = field(default_factory=list)  # what each submit was told


@dataclass
class Views:
    """The fake's triggers and modals."""

    triggers: dict[str, Trigger] = field(default_factory=dict)
    open: dict[str, OpenView] = field(default_factory=dict)


def _plain(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("type") == "plain_text":
        return str(obj.get("text", ""))
    return None


def view_problems(view: Any) -> list[str]:
    """Why Slack would refuse `view` as a modal (empty: it would not)."""
    if not isinstance(view, dict):
        return ["view must be a JSON object"]
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("[ERROR] must be 'modal' [json-pointer:/view/type]")
    title = _plain(view.get("title"))
    if title is None or not title or len(title) > TITLE_LIMIT:
        problems.append(f"[ERROR] title must be plain_text of 1-{TITLE_LIMIT} characters")
    blocks = view.get("blocks") or []
    if not isinstance(blocks, list) or len(blocks) > BLOCKS_LIMIT:
        problems.append(f"[ERROR] no more than {BLOCKS_LIMIT} items allowed [/view/blocks]")
        blocks = []
    if len(str(view.get("callback_id", ""))) > CALLBACK_ID_LIMIT:
        problems.append(f"[ERROR] callback_id longer than {CALLBACK_ID_LIMIT}")
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA_LIMIT:
        problems.append(f"[ERROR] private_metadata longer than {PRIVATE_METADATA_LIMIT}")
    block_ids: set[str] = set()
    inputs = 0
    for i, block in enumerate(blocks):
        block_id = str(block.get("block_id", ""))
        if block_id:
            if block_id in block_ids or len(block_id) > BLOCK_ID_LIMIT:
                problems.append(f"[ERROR] block_id duplicated or too long [/view/blocks/{i}]")
            block_ids.add(block_id)
        if block.get("type") == "input":
            inputs += 1
            problems += _input_problems(block, i)
    if inputs and _plain(view.get("submit")) is None:
        problems.append("[ERROR] submit is required with input blocks [/view/submit]")
    return problems


def _input_problems(block: dict[str, Any], i: int) -> list[str]:
    where = f"[/view/blocks/{i}]"
    problems = []
    label = _plain(block.get("label"))
    if label is None or len(label) > LABEL_LIMIT:
        problems.append(f"[ERROR] label must be plain_text ≤ {LABEL_LIMIT} {where}")
    element = block.get("element") or {}
    if element.get("type") == "plain_text_input":
        top = element.get("max_length", INPUT_MAX_LENGTH)
        if not isinstance(top, int) or not 1 <= top <= INPUT_MAX_LENGTH:
            problems.append(f"[ERROR] max_length must be 1-{INPUT_MAX_LENGTH} {where}")
            top = INPUT_MAX_LENGTH
        if len(str(element.get("initial_value", ""))) > top:
            problems.append(f"[ERROR] initial_value longer than max_length {where}")
        if not element.get("action_id"):
            problems.append(f"[ERROR] action_id required {where}")
    if element.get("type") == "static_select":
        problems += _select_problems(element, where)
    return problems


def _select_problems(element: dict[str, Any], where: str) -> list[str]:
    options = element.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= OPTIONS_LIMIT:
        return [f"[ERROR] options must hold 1-{OPTIONS_LIMIT} items {where}"]
    problems = []
    for option in options:
        text = _plain(option.get("text")) if isinstance(option, dict) else None
        value = str(option.get("value", "")) if isinstance(option, dict) else ""
        if (
            text is None
            or len(text) > OPTION_TEXT_LIMIT
            or not 1 <= len(value) <= OPTION_VALUE_LIMIT
        ):
            problems.append(f"[ERROR] an option's text or value is too long or missing {where}")
    initial = element.get("initial_option")
    if initial is not None and initial not in options:
        problems.append(f"[ERROR] initial_option must be one of the options {where}")
    if not element.get("action_id"):
        problems.append(f"[ERROR] action_id required {where}")
    return problems


def issue_trigger(slack: FakeSlack, user: str) -> str:
    """A trigger id for an interaction of `user`, as Slack sends with a click."""
    trigger_id = f"{int(time.time())}.{uuid.uuid4().int % 10**9}.{uuid.uuid4().hex[:16]}"
    slack.views.triggers[trigger_id] = Trigger(user, slack.now())
    return trigger_id


def views_open(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """views.open."""
    trigger = slack.views.triggers.get(str(args.get("trigger_id", "")))
    if trigger is None:
        return {"ok": False, "error": "invalid_trigger_id"}
    if trigger.used:
        return {"ok": False, "error": "exchanged_trigger_id"}
    if slack.now() - trigger.issued_at > TRIGGER_TTL_S:
        return {"ok": False, "error": "expired_trigger_id"}
    view = args.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
    problems = view_problems(view)
    if problems:
        return {
            "ok": False,
            "error": "invalid_arguments",
            "response_metadata": {"messages": problems},
        }
    if not isinstance(view, dict):  # view_problems refused anything else; for the types
        return {"ok": False, "error": "invalid_arguments"}
    trigger.used = True
    view_id = f"V{next(_view_ids):08d}"
    opened = {**view, "id": view_id, "team_id": TEAM, "state": {"values": {}}}
    slack.views.open[view_id] = OpenView(view_id, trigger.user, opened)
    return {"ok": True, "view": opened}


def initial_values(view: dict[str, Any]) -> dict[str, str]:
    """Each text input's pre-filled value and each select's pre-chosen option's value, by
    block id (what a person sees on opening)."""
    values: dict[str, str] = {}
    for b in view.get("blocks", []):
        element = b.get("element", {})
        if b.get("type") != "input":
            continue
        if element.get("type") == "plain_text_input":
            values[str(b["block_id"])] = str(element.get("initial_value", ""))
        elif element.get("type") == "static_select":
            chosen = element.get("initial_option") or {}
            values[str(b["block_id"])] = str(chosen.get("value", ""))
    return values


def _selected(element: dict[str, Any], block_id: str, value: str) -> dict[str, Any]:
    if not value:
        return {"type": "static_select", "selected_option": None}
    for option in element.get("options", []):
        if option.get("value") == value:
            return {"type": "static_select", "selected_option": option}
    raise ValueError(f"Slack's client offers no option {value!r} in {block_id}")


def _state(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") != "input":
            continue
        block_id = str(block["block_id"])
        value = values.get(block_id, "")
        if element.get("type") == "static_select":
            if not value and not block.get("optional", False):
                raise ValueError(f"Slack's client will not submit {block_id} unchosen")
            state[block_id] = {str(element["action_id"]): _selected(element, block_id, value)}
            continue
        if element.get("type") != "plain_text_input":
            continue
        top = int(element.get("max_length", INPUT_MAX_LENGTH))
        if len(value) > top:
            raise ValueError(f"Slack's client takes at most {top} characters in {block_id}")
        if not value and not block.get("optional", False):
            raise ValueError(f"Slack's client will not submit {block_id} empty: it is required")
        state[block_id] = {
            str(element["action_id"]): {"type": "plain_text_input", "value": value or None}
        }
    return {"values": state}


async def submit_view(
    slack: FakeSlack,
    app_url: str,
    signing_secret: str,
    view_id: str,
    values: dict[str, str],
    *,
    team: str = TEAM,
    enterprise: str = "",
) -> dict[str, Any]:
    """A person submits the modal `view_id` with `values` (block id -> text; blocks not given
    keep their pre-filled values): POSTed to the app as Slack does. Returns the app's answer
    ({} when it closed the modal); an `errors` answer keeps it open and is recorded.
    `team`, `enterprise`: the person's workspace and org (an app installed in many; Slack
    names the org of a view_submission as `team.enterprise_id`)."""
    opened = slack.views.open[view_id]
    if opened.closed:
        raise ValueError("that modal is closed")
    filled = {**initial_values(opened.view), **values}
    view = {**opened.view, "state": _state(opened.view, filled), "hash": uuid.uuid4().hex}
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "orchestra-sandbox"}
        | ({"enterprise_id": enterprise} if enterprise else {}),
        "user": {"id": opened.user, "username": opened.user.lower(), "team_id": team},
        "api_app_id": APP,
        "token": "legacy-verification-token",
        "trigger_id": issue_trigger(slack, opened.user),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(signing_secret, body)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(app_url, data=body, headers=headers) as response,
    ):
        if response.status != 200:
            raise ValueError(f"the app answered the submission with HTTP {response.status}")
        text = await response.text()
    answer: dict[str, Any] = json.loads(text) if text.strip() else {}
    if answer.get("response_action") == "errors":
        inputs = set(initial_values(opened.view))
        errors = answer.get("errors") or {}
        unknown = [key for key in errors if key not in inputs]
        if not errors or unknown:
            # Slack shows nothing and logs it for the developer: the person is stuck.
            raise ValueError(f"errors for blocks that are not inputs of the view: {unknown}")
        opened.errors.append({str(k): str(v) for k, v in errors.items()})
        return answer
    opened.closed = True
    return answer
