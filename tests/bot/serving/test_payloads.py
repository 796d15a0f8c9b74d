"""What Slack does send passes the shape check (issue 19.11 refuses what it never sends: see
`tests/faults/test_payload_shapes.py`): shapes from Slack's references, beyond the few the
app acts on, so that a check meant for forgeries never refuses Slack."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from bot.serving.payloads import well_formed
from sandbox.fakes import signing


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(signing.event_callback(event)[0])
    return body


def payload(form: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(urllib.parse.parse_qs(form)["payload"][0])
    return parsed


SLACK_SENDS: list[dict[str, Any]] = [
    json.loads(signing.mention_event(text="<@UBOT> hi", user="U1", channel="C1", ts="1.1")[0]),
    json.loads(signing.dm_message(text="hi", user="U1", channel="D1", ts="1.1")[0]),
    json.loads(signing.home_opened(user="U1", tab="messages")[0]),
    json.loads(signing.agent_session_stopped(user="U1", channel="D1", thread_ts="1.0")[0]),
    payload(
        signing.block_action(
            action_id="orchestra_cancel", value="r1", user="U1", channel="C1", message_ts="1.0"
        )[0]
    ),
    dict(
        urllib.parse.parse_qsl(
            signing.slash_command(command="/research", text="", user="U1", channel="C1")[0],
            keep_blank_values=True,
        )
    ),
    {"type": "url_verification", "challenge": "3eZbrw1aB", "token": "t"},
    {"ssl_check": "1", "token": "t"},
    {"token": "t", "type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1},
    envelope(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "ts": "1.2",
            "hidden": True,
            "message": {"type": "message", "user": "U1", "text": "new", "ts": "1.1"},
            "previous_message": {"type": "message", "user": "U1", "text": "old", "ts": "1.1"},
        }
    ),
    envelope(
        {"type": "message", "subtype": "bot_message", "channel": "C1", "ts": "1.1", "bot_id": "B1"}
    ),
    envelope({"type": "team_join", "user": {"id": "U2", "team_id": "T1", "name": "bo"}}),
    envelope({"type": "channel_created", "channel": {"id": "C2", "name": "new", "creator": "U1"}}),
    envelope(
        {
            "type": "reaction_added",
            "user": "U1",
            "reaction": "+1",
            "item": {"type": "message", "channel": "C1", "ts": "1.1"},
        }
    ),
    envelope(
        {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": "U1",
                "channel_id": "D1",
                "thread_ts": "1.1",
                "context": {},
            },
            "event_ts": "1.2",
        }
    ),
    envelope(
        {
            "type": "app_home_opened",
            "user": "U1",
            "channel": "D1",
            "tab": "home",
            "view": {"id": "V1", "type": "home"},
        }
    ),
    {
        "type": "block_actions",
        "user": {"id": "U1", "username": "ann", "team_id": "T1"},
        "team": {"id": "T1", "domain": "x"},
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "home", "callback_id": "", "state": {"values": {}}},
        "actions": [
            {
                "action_id": "a",
                "block_id": "b",
                "type": "static_select",
                "selected_option": {"value": "x", "text": {"type": "plain_text", "text": "x"}},
            }
        ],
        "trigger_id": "t",
        "enterprise": None,
        "channel": None,
    },
    {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "x"},
        "user": {"id": "U1", "username": "ann", "team_id": "T1"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "edit",
            "private_metadata": "r1",
            "state": {"values": {"b": {"a": {"type": "plain_text_input", "value": "x"}}}},
        },
        "response_urls": [],
    },
    {
        "type": "shortcut",
        "callback_id": "go",
        "trigger_id": "t",
        "user": {"id": "U1"},
        "team": {"id": "T1"},
    },
    {
        "type": "message_action",
        "callback_id": "go",
        "user": {"id": "U1"},
        "channel": {"id": "C1", "name": "x"},
        "message": {"type": "message", "ts": "1.1", "text": "hi"},
        "response_url": "https://hooks.slack.com/x",
    },
]


@pytest.mark.parametrize(
    "body", SLACK_SENDS, ids=lambda b: str(b.get("type") or b.get("command") or "ssl_check")
)
def test_what_slack_sends_is_well_formed(body: dict[str, Any]) -> None:
    assert well_formed(body)
