"""Who is in which conversation, who is a guest, and what the app's token may read: the fake
Slack's directory, as `users.conversations`, `conversations.info` and `users.info` answer it,
and the scopes every method needs (`missing_scope` as Slack answers it)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.fakes.slack_canvases import CANVAS_SCOPES

BOT_USER = "UBOT"  # the app's bot user (sandbox/fakes/slack.py names it too)

# The bot scopes manifest.yml asks for: what the app's token holds unless a test grants others
# (tests/bot/test_manifest.py checks that the two lists agree).
APP_SCOPES = frozenset(
    {
        "app_mentions:read",
        "chat:write",
        "commands",
        "channels:history",
        "groups:history",
        "im:history",
        "assistant:write",
        "channels:read",
        "groups:read",
        "mpim:read",
        "users:read",
        "canvases:write",
        "files:write",
    }
)

ConversationType = Literal["public_channel", "private_channel", "mpim", "im"]
# Conversations methods need the scope of the conversation's type: "to retrieve details about a
# public channel, you'll need channels:read ... a private channel, groups:read" (Using the
# Conversations API); mpim:* for group DMs, im:* for DMs. users.conversations needs the one of
# every type it is asked for.
SCOPE_FAMILY: dict[str, str] = {
    "public_channel": "channels",
    "private_channel": "groups",
    "mpim": "mpim",
    "im": "im",
}
# What each method needs whatever the conversation (views.publish and auth.test need none).
METHOD_SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "chat.startStream": "chat:write",
    "chat.appendStream": "chat:write",
    "chat.stopStream": "chat:write",
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "users.info": "users:read",
    **CANVAS_SCOPES,
}
# users.conversations: "Must be an integer with a max value of 999"; 100 when not given.
CONVERSATIONS_LIMIT, CONVERSATIONS_DEFAULT = 999, 100
Guest = Literal["", "multi", "single"]  # a full member, a multi- or a single-channel guest
Role = Literal["", "admin", "owner", "primary_owner"]  # a member, or who runs the workspace


def missing_scope(needed: list[str], granted: frozenset[str]) -> dict[str, Any] | None:
    """Slack's refusal of a call whose token lacks a scope it needs, or None: the scopes it
    needs (`needed`) and the token's (`provided`), each comma-separated, as Slack answers."""
    missing = [scope for scope in needed if scope not in granted]
    if not missing:
        return None
    return {
        "ok": False,
        "error": "missing_scope",
        "needed": ",".join(missing),
        "provided": ",".join(sorted(granted)),
    }


def implied_type(channel: str) -> ConversationType:
    """The type of a conversation nobody declared, from its ID's letter (DMs are D…, private
    channels of old G…); tests declare the others with `FakeSlack.add_channel`."""
    if channel.startswith("D"):
        return "im"
    return "private_channel" if channel.startswith("G") else "public_channel"


@dataclass
class Conversation:
    """A channel, group DM or DM: its type and the people in it (the bot's own membership is
    `FakeSlack.not_member`'s)."""

    id: str
    type: ConversationType
    members: set[str] = field(default_factory=set)
    name: str = ""

    def to_api(self, *, bot_member: bool, archived: bool) -> dict[str, Any]:
        """Slack's conversation object (the fields that say what kind it is and who is in it)."""
        if self.type == "im":
            other = next((m for m in sorted(self.members) if m != BOT_USER), "")
            return {"id": self.id, "is_im": True, "user": other, "is_user_deleted": False}
        private = self.type != "public_channel"
        return {
            "id": self.id,
            "name": self.name or self.id.lower(),
            "is_channel": self.type == "public_channel",
            "is_group": self.type == "private_channel",
            "is_im": False,
            "is_mpim": self.type == "mpim",
            "is_private": private,
            "is_archived": archived,
            "is_member": bot_member,
        }


def page(items: list[Any], args: dict[str, Any], cap: int | None) -> tuple[list[Any], str] | str:
    """One page of `items` by Slack's cursor pagination (`limit`, `cursor`), and the next
    cursor ("" on the last page); or the error code for a bad `limit` or `cursor`. `cap`: the
    most the fake returns at once ("Fewer than the requested number of items may be
    returned, even if the end of the list hasn't been reached")."""
    try:
        limit = int(args.get("limit") or CONVERSATIONS_DEFAULT)
    except ValueError:
        return "invalid_limit"
    if limit < 1:
        return "invalid_limit"
    limit = min(limit, CONVERSATIONS_LIMIT, cap or CONVERSATIONS_LIMIT)
    cursor = str(args.get("cursor") or "")
    start = 0
    if cursor:
        try:
            kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
            start = int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return "invalid_cursor"
        if kind != "offset" or not 0 <= start <= len(items):
            return "invalid_cursor"
    end = start + limit
    following = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], following


def user_object(user: str, name: str, team: str, guest: Guest, role: Role = "") -> dict[str, Any]:
    """The fields of Slack's user object that name a person and say whether they are a guest
    (`is_restricted`: a multi-channel guest; `is_ultra_restricted`: a single-channel one) or
    run the workspace (`is_admin`, `is_owner`, `is_primary_owner`: docs.slack.dev
    reference/objects/user-object, read 2026-12-05; an owner is an admin too)."""
    return {
        "is_admin": role in ("admin", "owner", "primary_owner"),
        "is_owner": role in ("owner", "primary_owner"),
        "is_primary_owner": role == "primary_owner",
        "id": user,
        "team_id": team,
        "name": name.lower().replace(" ", "."),
        "real_name": name,
        "deleted": False,
        "is_bot": user == BOT_USER,
        "is_restricted": guest != "",
        "is_ultra_restricted": guest == "single",
        "profile": {"display_name": name, "real_name": name},
    }
