"""Building the Bolt app and its HTTP server; no module-level app."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import RetryState
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.listeners import register
from bot.replay import ReplayGuard

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


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
        return isinstance(body, dict) and body.get("error") in ("ratelimited", "rate_limited")


# Methods that post: a dropped connection may hide a message Slack did post, and they take no
# idempotency key, so they are never retried after a connection error (a run never posts twice).
_POSTING = ("chat.postMessage", "chat.postEphemeral")


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


def make_slack_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After), retries 5xx a few times, and
    retries connection errors only where repeating cannot post twice."""
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            RatelimitedBodyRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            IdempotentConnectionRetryHandler(max_retry_count=2),
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
    if not socket_mode:
        app.use(ReplayGuard())
    register(app, deps)
    return app


def create_web_app(app: AsyncApp, deps: Deps) -> web.Application:
    """aiohttp server: Slack requests on POST /slack/events, readiness on GET /healthz."""
    web_app = app.web_app(path=EVENTS_PATH, port=deps.settings.port)
    secret = deps.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None
    web_app.middlewares.append(malformed_requests(verifier))

    async def healthz(request: web.Request) -> web.Response:
        status = 200 if deps.runs.accepting else 503
        return web.json_response(
            {"ok": deps.runs.accepting, "live_runs": len(deps.runs.live)}, status=status
        )

    web_app.router.add_get("/healthz", healthz)
    return web_app


def malformed_requests(verifier: SignatureVerifier | None) -> Middleware:
    """Answer a body Bolt cannot parse with 400 (401 if unsigned), not a 500 and a traceback.

    Bolt parses the body before it checks the signature, and a broken JSON payload raises
    there; Slack never sends one, so whoever did gets a short answer and nothing runs."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ValueError:  # json.JSONDecodeError and friends, from Bolt's body parsing
            body = await request.text()
            if verifier is not None and not verifier.is_valid_request(body, dict(request.headers)):
                return web.json_response({"error": "invalid signature"}, status=401)
            logger.warning("malformed Slack request refused (%d bytes)", len(body))
            return web.json_response({"error": "malformed request"}, status=400)

    return middleware
