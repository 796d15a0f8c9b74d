"""Building the Bolt app and its HTTP server; no module-level app."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.deps import Deps
from bot.listeners import register
from bot.log_safety import bolt_logger
from bot.serving import health
from bot.serving.observability import add_metrics_route
from bot.serving.tenants import (
    InstalledAuthorize,
    Workspaces,
    oauth_flow,
    register_installation_events,
)
from bot.serving.verify import MAX_BODY_BYTES, Refusal, RequestVerifier

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Bolt's name for the app (its logs). Given, because without it Bolt takes the caller's file
# name from `inspect.stack()`, which reads the source of every frame: ~0.15 s of CPU at each
# start, and at each app a test builds.
APP_NAME = "orchestra"


def create_app(
    deps: Deps,
    *,
    socket_mode: bool = False,
    workspaces: Workspaces | None = None,
) -> AsyncApp:
    """The Bolt app with every listener registered; with `workspaces`, installed by OAuth
    in many workspaces (`bot.serving.tenants`), each request served with its own token.
    The signing secret is the settings' (Socket Mode needs none)."""
    secret = deps.settings.slack_signing_secret
    signing_secret = secret.get_secret_value() if secret is not None else ""
    if workspaces is not None:
        app = AsyncApp(
            name=APP_NAME,
            client=deps.io.client,
            signing_secret=signing_secret,
            logger=bolt_logger(),
            request_verification_enabled=True,  # OAuth mode is HTTP mode
            process_before_response=False,
            before_authorize=workspaces.before_authorize,
            # An AsyncAuthorize may answer None (no installation); Bolt's hint omits it.
            authorize=InstalledAuthorize(workspaces),  # type: ignore[arg-type]
            installation_store=workspaces.installations,
            oauth_flow=oauth_flow(deps.settings, workspaces),
        )
        register_installation_events(app, workspaces, deps.workspace_gone)
        register(app, deps)
        return app
    app = AsyncApp(
        name=APP_NAME,
        client=deps.io.client,
        signing_secret=signing_secret,
        logger=bolt_logger(),
        # In HTTP mode `create_web_app` has verified every request before Bolt sees it;
        # Bolt checks again (one HMAC) so that this app is never served unverified, even by
        # another adapter. Socket Mode frames are authenticated by the app token, not signed.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
    )
    register(app, deps)
    return app


def create_web_app(app: AsyncApp, deps: Deps) -> web.Application:
    """aiohttp server: Slack requests on POST /slack/events, readiness on GET /healthz
    (each dependency: `bot.serving.health`)."""
    secret = deps.settings.slack_signing_secret
    if secret is None or not secret.get_secret_value():
        raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET")
    coordination = deps.runs.coordination
    verifier = RequestVerifier(secret.get_secret_value(), replays=coordination.replays)
    dependencies = health.HealthCheck(
        health.probes(deps.store, coordination.redis, health.token_probe(deps.slack_auth))
    )
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def slack_events(request: web.Request) -> web.Response:
        checked = await verifier.check(request)
        if isinstance(checked, Refusal):
            log = logger.warning if checked.status == 400 else logger.info
            log("refused a Slack request: %s (%d)", checked.reason, checked.status)
            return web.json_response({"error": checked.reason}, status=checked.status)
        return await to_aiohttp_response(await app.async_dispatch(checked))

    async def healthz(request: web.Request) -> web.Response:
        state = await dependencies.current()
        failing = state.failing if deps.runs.accepting else [*state.failing, "stopping"]
        body: dict[str, object] = {
            "ok": not failing,
            "live_runs": len(deps.runs.running),
            "checks": dict(state.checks),
        }
        if failing:
            body["failing"] = failing
        return web.json_response(body, status=503 if failing else 200)

    flow = app.oauth_flow
    if flow is not None:  # OAuth mode: "Add to Slack" and Slack's redirect back

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(_get(request)))

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(_get(request)))

        web_app.router.add_get(flow.install_path, install)
        web_app.router.add_get(flow.redirect_uri_path, oauth_redirect)
    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get("/healthz", healthz)
    add_metrics_route(web_app, deps.telemetry)
    return web_app


def _get(request: web.Request) -> AsyncBoltRequest:
    """A GET request (install, OAuth redirect) as Bolt's OAuth flow reads it: query and
    headers (the state cookie); no body, no signature (Slack does not sign these)."""
    return AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers={name.lower(): [value] for name, value in request.headers.items()},
    )
