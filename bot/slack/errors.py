"""Every Slack Web API error code the app tells apart, in one place.

Codes from each method's page on docs.slack.dev (read 2026-12); where a code is not Slack's
own (`CONNECTION_ERROR`, `NOT_OWNER`) it is ours, carried in a `SlackApiError` like Slack's
so callers handle one kind of failure. Sentences for people live in `bot.render.notes` and
`bot.slack.io.channel_refusal`; this module only names codes.
"""

from __future__ import annotations

# Slack refused the message's content, not the channel: the same words as plain text (or a
# smaller rendering) may still go through. Per the method reference pages: chat.postMessage
# answers msg_blocks_too_long for too much block text, chat.update and chat.postEphemeral
# msg_too_long; all three invalid_blocks and invalid_blocks_format. too_many_blocks and
# markdown_text_conflict are content refusals too.
MSG_TOO_LONG = "msg_too_long"
CONTENT_REFUSED = frozenset(
    {
        MSG_TOO_LONG,
        "msg_blocks_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "too_many_blocks",
        "markdown_text_conflict",
    }
)
# The bot cannot post in the channel: never invited (no chat:write.public), removed, or the
# channel is private to others. chat.update says channel_not_found where posts say not_in_channel.
CHANNEL_NOT_FOUND = "channel_not_found"
NOT_A_MEMBER = frozenset({"not_in_channel", CHANNEL_NOT_FOUND})
# Archived: chat.postMessage/postEphemeral say is_archived, chat.update is_inactive.
ARCHIVED = frozenset({"is_archived", "is_inactive"})
# A workspace or channel setting forbids the post (read-only, thread-only, admins only...).
RESTRICTED = frozenset(
    {
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
    }
)
# Slack's answers for a token it will never accept again (every method's errors): revoked,
# expired (rotation, which this app does not use), not valid at all, or its workspace or user
# deactivated.
TOKEN_REFUSED = frozenset({"token_revoked", "token_expired", "invalid_auth", "account_inactive"})
# A rate limit: with a 429, or (documented as method errors) in a 200's body;
# `bot.slack.client.RatelimitedBodyRetryHandler` waits out both.
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
# "Not now" rather than "not this token" (auth.test at start-up retries these).
TRANSIENT = RATE_LIMITED | {
    "request_timeout",
    "service_unavailable",
    "fatal_error",
    "internal_error",
}
# users.info about someone this token cannot see.
USER_UNKNOWN = frozenset({"user_not_found", "user_not_visible"})

# The streaming methods (chat.startStream / appendStream / stopStream). Slack ended the stream
# (idle, or too old): the same message is edited instead.
NOT_STREAMING = "message_not_in_streaming_state"
# The person pressed stop in the client.
STOPPED_BY_USER = "stopped_by_user"
# Refusals of a write's content (rather than of the stream or the channel).
CHUNKS_REFUSED = frozenset(
    {"invalid_chunks", "invalid_arguments", "invalid_blocks", "msg_blocks_too_long"}
)
# agents.sessions.setStatus where the workspace or the app has no agent sessions: the feature
# is off (`feature_disabled`), the method is unknown there (`unknown_method`), or the bot may
# not manage this conversation's session (`not_authorized`).
NOT_AUTHORIZED = "not_authorized"
SESSIONS_UNAVAILABLE = frozenset({"feature_disabled", "unknown_method", NOT_AUTHORIZED})

# Ours: Slack could not be reached after any retries (`bot.slack.io.SlackUnreachable`).
CONNECTION_ERROR = "connection_error"
# Ours: this replica no longer owns the run, so its write was not sent.
NOT_OWNER = "not_owner"
