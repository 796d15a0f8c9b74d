"""The Slack Web API client and its retry policy (slack_sdk's retry handlers, two refined)."""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler, RetryState
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import RATE_LIMITED
from bot.slack.tenancy import TenantClient


class RatelimitedBodyRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Also waits out `{"ok": false, "error": "ratelimited"}` answered without a 429 status.

    Slack documents `ratelimited`/`rate_limited` as method errors too; slack_sdk's handler
    looks only at the status. Nothing was posted, so a retry cannot post twice."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        body = response.body if response is not None else None
        return isinstance(body, dict) and body.get("error") in RATE_LIMITED


# Methods that post: a dropped connection may hide a message Slack did post, and they take no
# idempotency key, so they are never retried after a connection error (a run never posts twice).
# The same holds for a stream's start (a retry could start a second streamed message) and its
# appends (a retry could append the same text twice): `bot.thread.native_stream` reads the
# thread back instead. chat.stopStream stays retried: a second stop is refused, never doubled.
_POSTING = ("chat.postMessage", "chat.postEphemeral", "chat.startStream", "chat.appendStream")


class IdempotentConnectionRetryHandler(AsyncConnectionErrorRetryHandler):
    """slack_sdk's connection-error retries, for the methods that are safe to repeat."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith(_POSTING):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def make_slack_client(
    token: str,
    api_url: str,
    *,
    watch: AsyncRetryHandler | None = None,
    tenanted: bool = False,
) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After), retries 5xx a few times, and
    retries connection errors only where repeating cannot post twice. `watch`, first, sees
    every answer and never retries (`bot.slack.auth.TokenWatch`). `tenanted`: many
    workspaces, each call made with the token of the one being served (`TenantClient`)."""
    kind = TenantClient if tenanted else AsyncWebClient
    return kind(
        token=token or None,
        base_url=api_url,
        retry_handlers=[
            *([watch] if watch is not None else []),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            RatelimitedBodyRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            IdempotentConnectionRetryHandler(max_retry_count=2),
        ],
    )
