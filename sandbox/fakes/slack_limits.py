"""Pure checks of Slack's message limits, error codes and rate limits, as the fake enforces them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.fakes.slack_canvases import CANVAS_ERRORS, CANVAS_TIERS

TEXT_LIMIT = 4000  # chat.update documents msg_too_long past 4,000 characters of `text`
POST_TEXT_LIMIT = 40_000  # chat.postMessage: "no more than 40,000 characters or risk truncation"
# Slack refuses a whole message whose blocks carry too much text (`msg_blocks_too_long`), below
# any documented per-block limit. The threshold moves with the content: ~11.3k characters of block
# text observed here, ~13.2k reported for markdown-only messages (slackapi/bolt-js#2509). The fake
# uses the lower figure so the app is tested against the stricter Slack.
MESSAGE_BLOCKS_TEXT = 11_300
MAX_BLOCKS = 50
HOME_VIEW_BLOCKS = 100  # a Home tab view holds up to 100 blocks
SECTION_TEXT = 3000
SECTION_FIELD = 2000
MARKDOWN_PER_MESSAGE = 12_000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
# context_actions: "An array of feedback_buttons or icon_button block elements. Maximum number
# of items is 5" (its Block Kit reference page, as slack_sdk's ContextActionsBlock checks it).
CONTEXT_ACTIONS_ELEMENTS = 5
CONTEXT_ACTIONS_KINDS = frozenset({"feedback_buttons", "icon_button"})
BUTTON_TEXT = 75
ID_LENGTH = 255
BUTTON_VALUE = 2000
# --- native streaming and assistant threads -------------------------------------------------
# chat.startStream / appendStream / stopStream: "Limit this field [markdown_text] to 12,000
# characters" (each method's reference page), per call.
STREAM_MARKDOWN_TEXT = 12_000
# What one streamed message may hold in all is undocumented. Measured against the live API:
# appends are refused with `msg_too_long` once the message carries roughly 10.6-12k characters
# of text, task titles, details and outputs (CopilotKit/CopilotKit#6064: 11,977 accepted of
# 15,668; openclaw/openclaw#143882: 10,600-11,300 UTF-8 bytes). Like whole messages above, the
# fake refuses past 11,300 characters of everything the message shows.
STREAM_TEXT = MESSAGE_BLOCKS_TEXT
# Slack ends a message's streaming state on its own (then appends and stops answer
# `message_not_in_streaming_state`; chat.update still works). Undocumented ("undocumented
# timeouts", slackapi/python-slack-sdk#1859). Reports: idle for "a few minutes"
# (timescale/tiger-agents-for-work#297; one report of ~30 s, OasAIStudio/symphony-ts#1078), and
# about five minutes after the stream started even while appends keep flowing
# (python-slack-sdk#1859, vercel/chat#637, dust-tt/dust#25031). The fake's defaults; tests set
# shorter ones on FakeSlack.
STREAM_IDLE_S = 120.0
STREAM_MAX_S = 300.0
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
TASK_DISPLAY_MODES = frozenset({"timeline", "plan"})  # default "timeline"
# assistant.threads.setStatus: "A two minute timeout applies, which will cause the status to be
# removed if no message has been sent"; `loading_messages` holds 1-10 strings of 1-50 characters.
STATUS_TIMEOUT_S = 120.0
LOADING_MESSAGES = 10
LOADING_MESSAGE_LENGTH = 50
# assistant.threads.setSuggestedPrompts: "set up to four suggested prompts", each a title and a
# message.
SUGGESTED_PROMPTS = 4
# The text fields of `task_update` (title, details, output) and `plan_update` (title) chunks:
# Slack's own pages give no size for them (chat.startStream / appendStream / stopStream list
# only markdown_text's 12,000; the task_card and plan blocks only block_id's 255; checked
# 2026-12-05), slack_sdk checks none, and the one published cap is Microsoft's Slack extension's
# (Agents-for-js TaskUpdateChunk / PlanUpdateChunk: "Maximum 256 characters"). As with whole
# messages, the fake takes the stricter figure and refuses a longer field (`invalid_chunks`).
STREAM_CHUNK_FIELD = 256
# --- agent sessions (docs.slack.dev/ai/agent-sessions, agents.sessions.setStatus, read
# 2026-12-05) ----------------------------------------------------------------------------------
# A thread's session shows "processing" (a spinner and a stop button), "active", "suspended" or
# "closed". "The session status does not update automatically" (agent_session_stopped): only a
# successful chat.stopStream or agents.sessions.setStatus moves it off processing. The title
# (set on creation only) is "max 200 characters".
SESSION_STATUSES = frozenset({"active", "processing", "suspended", "closed"})
SESSION_TITLE = 200
# How long Slack leaves a session nobody moves off processing: undocumented; the issue that
# asked for the lifecycle (#20) saw the spinner and stop button stay for about an hour.
SESSION_PROCESSING_S = 3600.0

KNOWN_BLOCKS = {
    "section",
    "markdown",
    "context",
    "header",
    "divider",
    "actions",
    "image",
    "rich_text",
    "context_actions",
}


def blocks_text_length(value: Any) -> int:
    """Characters of text a message's blocks carry: every `text` string, however deep."""
    if isinstance(value, list):
        return sum(blocks_text_length(v) for v in value)
    if not isinstance(value, dict):
        return 0
    total = 0
    for key, item in value.items():
        total += len(item) if key == "text" and isinstance(item, str) else blocks_text_length(item)
    return total


def blocks_format_ok(blocks: Any) -> bool:
    """Whether `blocks` is a JSON array of objects (else Slack says `invalid_blocks_format`)."""
    return isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)


def block_errors(blocks: list[dict[str, Any]]) -> list[str]:
    """Slack's `invalid_blocks` reasons for a message's blocks (empty when valid)."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"must contain at most {MAX_BLOCKS} blocks [json-pointer:/blocks]")
    markdown = 0
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        kind = block.get("type")
        if kind not in KNOWN_BLOCKS:
            errors.append(f"unsupported type: {kind} {where}")
            continue
        block_id = str(block.get("block_id", ""))
        if len(block_id) > ID_LENGTH:
            errors.append(f"block_id too long {where}")
        # "block_id should be unique for each message" (Block Kit reference).
        if block_id and block_id in seen_ids:
            errors.append(f"duplicate block_id {where}")
        seen_ids.add(block_id)
        text = block.get("text")
        if kind == "section":
            if isinstance(text, dict) and len(str(text.get("text", ""))) > SECTION_TEXT:
                errors.append(f"must be less than {SECTION_TEXT + 1} characters {where}/text")
            for field_ in block.get("fields") or []:
                if len(str(field_.get("text", ""))) > SECTION_FIELD:
                    errors.append(f"field too long {where}/fields")
        elif kind == "markdown":
            markdown += len(str(text or ""))
        elif (
            kind == "header"
            and isinstance(text, dict)
            and len(str(text.get("text", ""))) > HEADER_TEXT
        ):
            errors.append(f"must be less than {HEADER_TEXT + 1} characters {where}/text")
        elif kind == "context" and len(block.get("elements") or []) > CONTEXT_ELEMENTS:
            errors.append(f"must contain at most {CONTEXT_ELEMENTS} elements {where}/elements")
        elif kind == "actions":
            errors += _actions_errors(block, where)
        elif kind == "context_actions":
            errors += _context_actions_errors(block, where)
    if markdown > MARKDOWN_PER_MESSAGE:
        errors.append(f"markdown blocks exceed {MARKDOWN_PER_MESSAGE} characters in one message")
    return errors


def _actions_errors(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    errors = []
    if len(elements) > ACTIONS_ELEMENTS:
        errors.append(f"must contain at most {ACTIONS_ELEMENTS} elements {where}/elements")
    for element in elements:
        label = element.get("text") or {}
        if len(str(label.get("text", ""))) > BUTTON_TEXT:
            errors.append(f"button text longer than {BUTTON_TEXT} {where}")
        if len(str(element.get("action_id", ""))) > ID_LENGTH:
            errors.append(f"action_id too long {where}")
        if len(str(element.get("value", ""))) > BUTTON_VALUE:
            errors.append(f"button value longer than {BUTTON_VALUE} {where}")
    return errors


def _context_actions_errors(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    if not 1 <= len(elements) <= CONTEXT_ACTIONS_ELEMENTS:
        return [f"must contain 1-{CONTEXT_ACTIONS_ELEMENTS} elements {where}/elements"]
    errors = []
    for element in elements:
        kind = element.get("type")
        if kind not in CONTEXT_ACTIONS_KINDS:
            errors.append(f"unsupported element type: {kind} {where}/elements")
            continue
        if len(str(element.get("action_id", ""))) > ID_LENGTH:
            errors.append(f"action_id too long {where}")
        if kind != "feedback_buttons":
            continue
        for name in ("positive_button", "negative_button"):
            button = element.get(name)
            if not isinstance(button, dict):
                errors.append(f"missing required field: {name} {where}/elements")
                continue
            label = button.get("text") or {}
            if not str(label.get("text", "")) or len(str(label["text"])) > BUTTON_TEXT:
                errors.append(f"{name} text must be 1-{BUTTON_TEXT} characters {where}")
            if not str(button.get("value", "")) or len(str(button["value"])) > BUTTON_VALUE:
                errors.append(f"{name} value must be 1-{BUTTON_VALUE} characters {where}")
    return errors


def _codes(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- error codes ----------------------------------------------------------------------------
# What each method may answer, from its reference page on docs.slack.dev (as mirrored in
# slack-ruby/slack-api-ref, 2026-08). Fault tests may inject only these: a refusal Slack never
# sends tests nothing. Errors about features the app never uses (files, drafts, metadata,
# Slack Connect sharing) are left out.
COMMON_ERRORS = _codes(
    """access_denied accesslimited account_inactive deprecated_endpoint ekm_access_denied
    enterprise_is_restricted fatal_error invalid_arg_name invalid_array_arg invalid_auth
    invalid_charset invalid_form_data invalid_post_type is_bot method_deprecated
    missing_post_type missing_scope no_permission not_allowed_token_type not_authed
    org_login_required ratelimited request_timeout service_unavailable team_added_to_org
    token_expired token_revoked two_factor_setup_required unknown_method"""
)
# What every chat.*Stream method answers about posting at all (channel, content, workspace rules).
_STREAM_POSTING = """channel_not_found channel_type_not_supported invalid_arguments invalid_blocks
    invalid_chunks is_archived message_limit_exceeded messages_tab_disabled
    messaging_processing_failed msg_blocks_too_long msg_blocks_too_many msg_too_long no_text
    not_in_channel rate_limited restricted_action restricted_action_non_threadable_channel
    restricted_action_read_only_channel restricted_action_thread_locked
    restricted_action_thread_only_channel team_not_found"""
METHOD_ERRORS: dict[str, frozenset[str]] = {
    method: COMMON_ERRORS | _codes(own)
    for method, own in {
        "chat.postMessage": """as_user_not_supported cannot_reply_to_message channel_not_found
            invalid_blocks invalid_blocks_format is_archived markdown_text_conflict
            message_limit_exceeded messages_tab_disabled msg_blocks_too_long no_text
            not_in_channel rate_limited restricted_action restricted_action_non_threadable_channel
            restricted_action_read_only_channel restricted_action_thread_locked
            restricted_action_thread_only_channel team_not_found too_many_attachments""",
        "chat.update": """as_user_not_supported block_mismatch cant_broadcast_message
            cant_update_message channel_not_found edit_window_closed invalid_attachments
            invalid_blocks invalid_blocks_format is_inactive markdown_text_conflict
            message_limit_exceeded message_not_found msg_too_long no_text
            streaming_state_conflict team_not_found too_many_attachments update_failed""",
        "chat.postEphemeral": """cannot_reply_to_message channel_not_found invalid_attachments
            invalid_blocks invalid_blocks_format is_archived markdown_text_conflict
            message_limit_exceeded messages_tab_disabled msg_too_long no_text not_in_channel
            restricted_action too_many_attachments user_not_in_channel""",
        "chat.delete": "cant_delete_message channel_not_found message_not_found",
        "conversations.replies": """channel_not_found invalid_cursor invalid_ts_latest
            invalid_ts_oldest method_not_supported_for_channel_type thread_not_found""",
        "auth.test": "internal_error",
        "views.publish": """duplicate_external_id hash_conflict invalid_arguments
            not_enabled not_found too_many_views""",
        # Slack's native AI streaming and assistant threads: the codes their pages list (mirrored
        # in slack-ruby/slack-api-ref docs.slack.dev/methods/*.json, 2026-08), plus two every
        # method can answer though these pages leave them out: `invalid_arguments`, the common
        # answer to a schema violation such as a missing required field (slack_kit's
        # common_errors.json), and `msg_too_long`, which chat.appendStream answers once a
        # streamed message holds about 11-12k characters (CopilotKit/CopilotKit#6064,
        # openclaw/openclaw#143882, both measured against the live API).
        "chat.startStream": f"""{_STREAM_POSTING} invalid_blocks_format
            missing_recipient_team_id missing_recipient_user_id user_not_found""",
        "chat.appendStream": f"""{_STREAM_POSTING} message_not_found
            message_not_in_streaming_state message_not_owned_by_app stopped_by_user
            too_many_attachments""",
        "chat.stopStream": f"""{_STREAM_POSTING} cannot_reply_to_message
            invalid_metadata_format invalid_metadata_schema message_not_found
            message_not_in_streaming_state message_not_owned_by_app metadata_too_large
            too_many_attachments""",
        "assistant.threads.setStatus": "channel_not_found invalid_arguments invalid_thread_ts",
        "assistant.threads.setSuggestedPrompts": """channel_not_found invalid_arguments
            invalid_thread_ts message_not_found not_agent_app""",
        "assistant.threads.setTitle": "channel_not_found invalid_arguments invalid_thread_ts",
        # agents.sessions.setStatus's reference page (mirrored in slack-ruby/slack-api-ref,
        # 2026-08-20), plus `invalid_arguments` as above.
        "agents.sessions.setStatus": """feature_disabled channel_not_found user_not_found
            not_authorized invalid_status thread_ts_required thread_ts_not_allowed
            internal_error invalid_arguments""",
        # Who may see which runs: the codes these pages list (slack-ruby/slack-api-ref).
        "users.conversations": """invalid_arguments invalid_cursor invalid_limit invalid_types
            method_not_supported_for_channel_type""",
        "conversations.info": "channel_not_found invalid_arguments",
        "users.info": "user_not_found user_not_visible",
        **CANVAS_ERRORS,  # canvases and file uploads (sandbox/fakes/slack_canvases.py)
    }.items()
}
# A 5xx carries no documented method error; these are the bodies Slack's servers send with one.
SERVER_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Each method's documented code for "the blocks carry too much text".
BLOCKS_TOO_LONG = {
    "chat.postMessage": "msg_blocks_too_long",
    "chat.update": "msg_too_long",
    "chat.postEphemeral": "msg_too_long",
}


def undocumented(method: str, error: str, status: int) -> str | None:
    """Why Slack would never answer `method` with (`status`, `error`), or None if it might."""
    if method not in METHOD_ERRORS:
        return f"the fake does not serve {method}"
    if status == 429:
        return None if error == "ratelimited" else f"a 429 says `ratelimited`, not `{error}`"
    if status >= 500:
        return None if error in SERVER_ERRORS else f"a {status} does not carry `{error}`"
    if status != 200:
        return f"Slack answers method errors with HTTP 200, not {status}"
    if error not in METHOD_ERRORS[method]:
        return f"{method} does not document `{error}`"
    return None


# --- response_url ---------------------------------------------------------------------------
# Slack: a response_url "can be used up to 5 times within 30 minutes" of the interaction.
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60


@dataclass(frozen=True)
class Rate:
    """Allowed calls per second, with a burst."""

    per_second: float
    burst: float


# Slack's tiers: Tier 2 20+/min, Tier 3 50+/min, Tier 4 100+/min (per method, app, workspace).
TIER_RATES: dict[int, Rate] = {2: Rate(20 / 60, 5), 3: Rate(50 / 60, 12), 4: Rate(100 / 60, 12)}


# What the strict fake allows. Slack: chat.postMessage ~1/s per channel with short bursts;
# Tier 3 = 50+/min; Tier 4 = 100+/min (per app per workspace).
STRICT_RATES: dict[str, Rate] = {
    "chat.postMessage": Rate(1.0, 4),
    "chat.update": Rate(50 / 60, 12),
    "chat.postEphemeral": Rate(100 / 60, 12),
    "conversations.replies": Rate(50 / 60, 12),
    "chat.delete": Rate(50 / 60, 12),
    "views.publish": Rate(100 / 60, 12),  # Tier 4
    # Native streaming: chat.startStream and chat.stopStream are Tier 2 (20+/min),
    # chat.appendStream Tier 4, as their reference pages say.
    "chat.startStream": Rate(20 / 60, 5),
    "chat.appendStream": Rate(100 / 60, 12),
    "chat.stopStream": Rate(20 / 60, 5),
    # setStatus says only "special rate limits apply"; modelled as Tier 4 like its siblings.
    "assistant.threads.setStatus": Rate(100 / 60, 12),
    "assistant.threads.setSuggestedPrompts": Rate(100 / 60, 12),
    "assistant.threads.setTitle": Rate(100 / 60, 12),
    "agents.sessions.setStatus": Rate(50 / 60, 12),  # Tier 3, as its reference page says
    "users.conversations": Rate(50 / 60, 12),  # Tier 3
    "conversations.info": Rate(50 / 60, 12),  # Tier 3
    "users.info": Rate(100 / 60, 12),  # Tier 4
    # Canvases: create Tier 2, edit and access.set Tier 3; file uploads Tier 4.
    **{method: TIER_RATES[tier] for method, tier in CANVAS_TIERS.items()},
}
PER_CHANNEL = {"chat.postMessage"}


@dataclass
class RateLimiter:
    """Token buckets per (method, channel scope); `check` says how long to wait, or 0."""

    rates: dict[str, Rate] = field(default_factory=lambda: dict(STRICT_RATES))
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def check(self, method: str, channel: str) -> float:
        """0 if the call may go ahead (and is counted), else seconds until it may."""
        rate = self.rates.get(method)
        if rate is None:
            return 0.0
        key = (method, channel if method in PER_CHANNEL else "")
        now = self.clock()
        tokens, updated = self._buckets.get(key, (rate.burst, now))
        tokens = min(rate.burst, tokens + (now - updated) * rate.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate.per_second
        self._buckets[key] = (tokens - 1, now)
        return 0.0
