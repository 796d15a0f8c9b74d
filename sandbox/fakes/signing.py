"""What Slack sends TO an app, signed as Slack signs it (v0 HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

TEAM = "T0TEAM"
APP = "A0APP"


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command(
    *,
    command: str,
    text: str,
    user: str,
    channel: str,
    response_url: str = "",
    team: str = TEAM,
    enterprise: str = "",
    org_wide: bool = False,
    trigger_id: str = "",
) -> tuple[str, str]:
    """A slash command's form body and content type (`team`, `enterprise`: where it was
    typed, for an app installed in many workspaces; `org_wide`: the app is installed for the
    whole org, and Slack says `is_enterprise_install=true`; `trigger_id`: one the fake Slack
    issued, for a command that opens a modal)."""
    form = {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "orchestra-sandbox",
        "channel_id": channel,
        "channel_name": "research",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP,
        "response_url": response_url or "http://127.0.0.1:9/response",
        "trigger_id": trigger_id or f"trig.{uuid.uuid4().hex}",
    }
    if enterprise:
        form["enterprise_id"] = enterprise
        form["is_enterprise_install"] = "true" if org_wide else "false"
    return urlencode(form), "application/x-www-form-urlencoded"


def mention_event(
    *,
    text: str,
    user: str,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    event_id: str | None = None,
    bot_user: str = "UBOT",
    kind: str = "app_mention",
) -> tuple[str, str]:
    """An `event_callback` envelope for an app mention (or a plain message)."""
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, event_id=event_id, bot_user=bot_user)


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    bot_user: str = "UBOT",
    team: str = TEAM,
    enterprise: str = "",
    org_wide: bool = False,
) -> tuple[str, str]:
    """The Events API envelope Slack wraps every event in, as JSON (`team`, `enterprise`:
    the workspace it comes from; `org_wide`: authorized by the org's org-wide install)."""
    authorization: dict[str, Any] = {"team_id": team, "user_id": bot_user, "is_bot": True}
    body: dict[str, Any] = {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [authorization],
    }
    if enterprise:
        body["enterprise_id"] = authorization["enterprise_id"] = enterprise
        authorization["is_enterprise_install"] = org_wide
    return json.dumps(body), "application/json"


def home_opened(
    *, user: str, tab: str = "home", channel: str = "D0HOME", event_id: str | None = None
) -> tuple[str, str]:
    """An `event_callback` envelope for `app_home_opened`: a person opens the app's Home tab,
    or (`tab` "messages") its DM. Under agent view the latter replaces
    `assistant_thread_started` ("check the value of the tab property ... when its value is
    "messages"", docs.slack.dev/ai/migrating-to-agent-messaging, read 2026-12-05); `channel`
    is the person's DM with the app."""
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    return event_callback(event, event_id=event_id)


def dm_message(
    *,
    text: str,
    user: str,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    event_id: str | None = None,
) -> tuple[str, str]:
    """A person writes to the app in its messages tab: a `message` event (`message.im`) with
    `channel_type` "im". In an assistant thread it carries the thread's `thread_ts`, which is
    how Bolt tells it from other DMs."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        "team": TEAM,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, event_id=event_id)


def agent_session_stopped(
    *,
    user: str,
    channel: str,
    thread_ts: str,
    streaming_message_ts: list[str] | None = None,
    event_id: str | None = None,
) -> tuple[str, str]:
    """A person pressed the native stop button on the app's work in a thread. Slack has already
    stopped the streams `streaming_message_ts` names (`FakeSlack.user_stops` returns them; empty
    when none was live); the app stops its work and ends the session itself (chat.stopStream or
    agents.sessions.setStatus). Shape as in Slack's event reference."""
    event = {
        "type": "agent_session_stopped",
        "user": user,
        "channel": channel,
        "thread_ts": thread_ts,
        "streaming_message_ts": list(streaming_message_ts or []),
        "event_ts": f"{time.time():.6f}",
    }
    return event_callback(event, event_id=event_id)


def block_action(
    *,
    action_id: str,
    value: str,
    user: str,
    channel: str,
    message_ts: str,
    thread_ts: str | None = None,
    response_url: str = "",
    trigger_id: str = "",
) -> tuple[str, str]:
    """A button click's interactivity payload, form-encoded as Slack sends it (`trigger_id`:
    one the fake Slack issued, `FakeSlack.issue_trigger`, for a click that opens a modal)."""
    message: dict[str, Any] = {"ts": message_ts, "type": "message"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "orchestra-sandbox"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": APP,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": trigger_id or f"trig.{uuid.uuid4().hex}",
        "channel": {"id": channel, "name": "research"},
        "message": message,
        "response_url": response_url or "http://127.0.0.1:9/response",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
                "text": {"type": "plain_text", "text": "x"},
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
