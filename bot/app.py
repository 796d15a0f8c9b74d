"""Building the Bolt app and its HTTP server; no module-level app."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.deps import Deps
from bot.listeners import register
from bot.replay import ReplayGuard

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


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
