"""Building the Bolt app and its HTTP server; no module-level app."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.listeners import register

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def make_slack_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries 5xx a few times.

    No retry on connection errors: a dropped connection may hide a message Slack did
    post, and chat.postMessage has no idempotency key, so a retry could post twice."""
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_app(deps: Deps, *, signing_secret: str, socket_mode: bool = False) -> AsyncApp:
    """The Bolt app with every listener registered."""
    app = AsyncApp(
        client=deps.io.client,
        signing_secret=signing_secret,
        # Socket Mode frames are authenticated by the app token, not signed.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
    )
    register(app, deps)
    return app


def create_web_app(app: AsyncApp, deps: Deps) -> web.Application:
    """aiohttp server: Slack requests on POST /slack/events, readiness on GET /healthz."""
    web_app = app.web_app(path=EVENTS_PATH, port=deps.settings.port)

    async def healthz(request: web.Request) -> web.Response:
        status = 200 if deps.runs.accepting else 503
        return web.json_response(
            {"ok": deps.runs.accepting, "live_runs": len(deps.runs.live)}, status=status
        )

    web_app.router.add_get("/healthz", healthz)
    return web_app
