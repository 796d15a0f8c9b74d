"""`python -m bot`: the composition root. Settings -> clients -> app -> Socket Mode | HTTP."""

# ruff: noqa: E402 (the imports below wait for the collector to be paused)
from __future__ import annotations

import gc

# Importing the SDKs (anthropic's ~1,000 pydantic models above all) makes hundreds of
# thousands of objects that live as long as the process: the collector's passes over them,
# while they are made and in the first full pass after, free nothing and cost a fifth of the
# start (1.4 -> 1.1 s of CPU), paid by every replica, restart and test process. So: paused
# for the imports, and what they made frozen out of its passes (as `_serve` does later).
_COLLECTING = gc.isenabled()
gc.disable()

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import SecretStr, ValidationError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.coordination import (
    Coordination,
    DeliveryLedger,
    RedisDown,
    RedisLink,
    local_coordination,
    redis_coordination,
    replica_id,
)
from bot.coordination.link import redacted
from bot.deps import Deps, Workspace
from bot.log_safety import configure_logging
from bot.runs.admission import Admission
from bot.runs.lifecycle import keeping_runs
from bot.runs.registry import RunRegistry
from bot.serving import heap
from bot.serving.app import create_app
from bot.serving.observability import log_formatter, telemetry_config, with_telemetry
from bot.serving.server import serve_http, serve_socket_mode, stop_on_signals, until_stopped
from bot.serving.startup import (
    EXIT_CONFIG,
    STORE_LOCK_WAIT,
    StartupError,
    check_bot_token,
    open_store,
    sole_user_of_store,
)
from bot.serving.tenants import Workspaces
from bot.slack.auth import SlackAuth, TokenWatch
from bot.slack.client import make_slack_client
from bot.slack.io import SlackIO
from bot.slack.pacing import Pacer
from bot.slack.tenancy import Tenant, TenantClient
from bot.store import RunStore
from bot.store.sealing import Sealer, keys_problem
from bot.telemetry import Telemetry, start_telemetry
from bot.thread.native_stream import KEEPALIVE_S, STATUS_REFRESH_S
from pipeline import LLM, config_words
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.settings import env_name, settings_problem

gc.freeze()
if _COLLECTING:
    gc.enable()

logger = logging.getLogger(__name__)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def build_deps(
    settings: Settings,
    store: RunStore,
    workspace: Workspace | None = None,
    coordination: Coordination | None = None,
    *,
    tenants: Callable[[str, str], Awaitable[Tenant | None]] | None = None,
    slack: AsyncWebClient | None = None,
    llm: LLM | None = None,
    pacer: Pacer | None = None,
    telemetry: Telemetry | None = None,
    stream_keepalive_s: float = KEEPALIVE_S,
    status_refresh_s: float = STATUS_REFRESH_S,
) -> Deps:
    """Every dependency, built once: the only wiring of the app. `python -m bot`, the
    sandbox, the replica tests and the benchmarks all call this (main has checked the
    required secrets are set).

    The keyword arguments override one part at the root, as svcs does, instead of a caller
    wiring the app by hand: `llm` (a fake model, or a client the caller closes), `pacer`,
    `telemetry` (its spans and counters wrap the Slack and Claude calls), the DM stream's
    timings. Many workspaces (OAuth): `tenants` finds a workspace's installation, and
    `slack` (a `TenantClient`) calls with the token of the workspace being served."""
    if llm is None:
        llm = AnthropicLLM(
            make_client(
                _secret(settings.anthropic_api_key),
                settings.anthropic_base_url,
                settings.call_timeout_s,
            )
        )
    slack_auth = SlackAuth()
    # Many workspaces: no one token to watch (a workspace that revokes its own is told by
    # app_uninstalled or tokens_revoked, and the others are still served).
    slack = slack or make_slack_client(
        _secret(settings.slack_bot_token), settings.slack_api_url, watch=TokenWatch(slack_auth)
    )
    workspace = workspace or Workspace()
    if pacer is None:
        # The pacer takes its tokens from the coordination's buckets: this process's own, or
        # with replicas Redis's (Slack counts per workspace, not per process).
        pacer = (
            Pacer(shared=coordination.buckets, team=workspace.team_id)
            if coordination is not None
            else Pacer()
        )
    deps = Deps(
        settings=settings,
        config=settings.pipeline_config(),  # once: every copy of Deps shares it
        io=SlackIO(slack, pacer),
        llm=llm,
        store=store,
        runs=RunRegistry(
            store,
            Admission(
                settings.max_live_runs,
                settings.max_runs_per_user,
                coordination.persons if coordination is not None else None,
                coordination.slots if coordination is not None else None,
            ),
            coordination=coordination,
            lease_s=settings.lease_s,
        ),
        workspace=workspace,
        slack_auth=slack_auth,
        tenants=tenants,
        stream_keepalive_s=stream_keepalive_s,
        status_refresh_s=status_refresh_s,
    )
    return with_telemetry(deps, telemetry) if telemetry is not None else deps


async def open_coordination(settings: Settings, store: DeliveryLedger) -> Coordination:
    """In-memory coordination, or Redis's when `ORCHESTRA_REDIS_URL` is set.

    An unreachable Redis does not stop the start: every shared part has a way to degrade
    (docs/reliability.md), and /healthz names Redis until it answers."""
    if settings.redis_url is None:
        return local_coordination(store)
    url = settings.redis_url.get_secret_value()
    replica = replica_id()
    try:
        link = RedisLink.from_url(url, name=replica)
    except ValueError:  # redis-py's word for a URL it cannot use; never echo it (a password)
        raise StartupError(
            "Invalid configuration: ORCHESTRA_REDIS_URL is not a Redis URL "
            "(redis://host:port/db, rediss://… or unix://…).",
            EXIT_CONFIG,
        ) from None
    try:
        await link.ping()
    except RedisDown as down:
        logger.warning("%s at %s; starting anyway (see /healthz)", down, redacted(url))
    if settings.database_url.startswith("sqlite"):
        logger.warning(
            "ORCHESTRA_REDIS_URL is set but the run store is SQLite: replicas on other "
            "machines need a shared PostgreSQL ORCHESTRA_DATABASE_URL"
        )
    return redis_coordination(link, store, replica=replica, per_workspace=settings.multi_workspace)


async def _serve(settings: Settings) -> None:
    # Signals first: a stop during the start-up checks must end the process promptly too.
    stop = stop_on_signals()
    telemetry = start_telemetry(telemetry_config(settings))
    workspace: Workspace | None = Workspace()  # many workspaces: each request brings its own
    if not settings.multi_workspace:
        check = check_bot_token(_secret(settings.slack_bot_token), settings.slack_api_url)
        workspace = await until_stopped(stop, check)
    if workspace is None:
        return
    store_lock = None
    if settings.redis_url is None:  # one process: alone on a SQLite file (bot.store.file_lock)
        wait_s = settings.shutdown_timeout_s * STORE_LOCK_WAIT
        store_lock = await until_stopped(stop, sole_user_of_store(settings.database_url, wait_s))
        if stop.is_set():
            return
    store = await open_store(settings.database_url)
    coordination: Coordination | None = None
    try:
        coordination = await open_coordination(settings, store)
        workspaces: Workspaces | None = None
        if settings.multi_workspace:
            # One client for every call: revoking a workspace's token reaches them all.
            client = TenantClient(base_url=settings.slack_api_url)
            installations = store.installations(Sealer(_secret(settings.encryption_key)))
            workspaces = Workspaces(installations, store.oauth_states(), client)
        deps = build_deps(
            settings,
            store,
            workspace,
            coordination,
            tenants=workspaces.tenant_of if workspaces is not None else None,
            slack=workspaces.client if workspaces is not None else None,
            telemetry=telemetry,
        )
        heap.settle()  # everything built so far lives as long as the process
        # Every replica listens for Cancels: the run's owner is whoever has it live.
        async with keeping_runs(deps), coordination.cancels.listening(deps.runs.cancel):
            if workspaces is not None:
                app = create_app(deps, workspaces=workspaces)
                await serve_http(app, deps, stop)
            elif settings.slack_app_token is not None:
                app = create_app(deps, socket_mode=True)
                token = settings.slack_app_token.get_secret_value()
                await serve_socket_mode(app, deps, token, stop)
            else:
                await serve_http(create_app(deps), deps, stop)
    finally:
        if coordination is not None:
            await coordination.close()
        await store.close()
        # Last: the runs paused above have ended their spans; a SIGTERM loses none of them.
        await asyncio.to_thread(telemetry.shutdown)
        if store_lock is not None:
            store_lock.release()


def load_settings() -> Settings | str:
    """Settings, or one sentence saying what is wrong with them."""
    try:
        settings = Settings()
    except ValidationError as exc:
        return settings_problem(Settings, exc)
    missing = settings.missing_for_slack()
    if missing:
        return config_words.missing(missing)
    if settings.multi_workspace and settings.encryption_key is not None:
        problem = keys_problem(settings.encryption_key.get_secret_value())
        if problem is not None:
            return f"Invalid configuration: ORCHESTRA_ENCRYPTION_KEY {problem}."
    if settings.log_level.upper() not in logging.getLevelNamesMapping():
        return config_words.LOG_LEVEL
    return settings


def warn_of_deprecated_models(settings: Settings) -> None:
    """One log line per configured model Anthropic has deprecated: its roles, their
    variables and its end of life (an error once that day has passed: every call fails).
    Not a refusal: a platform behind ANTHROPIC_BASE_URL may keep a model longer."""
    today = datetime.now(UTC).date()
    for model, roles, end in settings.deprecated_models():
        variables = ", ".join(env_name(Settings, f"{role}_model") for role in roles)
        retired = end <= today
        logger.log(
            logging.ERROR if retired else logging.WARNING,
            config_words.RETIRED_MODEL if retired else config_words.DEPRECATED_MODEL,
            model,
            config_words.roles_text(roles),
            variables,
            end.isoformat(),
        )


def warn_of_mode(settings: Settings) -> None:
    """One line when the configuration asks for two modes: the one that wins, and why."""
    if settings.oauth_requested and not settings.multi_workspace:
        logger.warning(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are ignored: SLACK_BOT_TOKEN is set, so "
            "the app serves that one workspace (unset SLACK_BOT_TOKEN to install by OAuth)"
        )
    if settings.multi_workspace and settings.slack_app_token is not None:
        logger.warning(
            "SLACK_APP_TOKEN is ignored: installed by OAuth the app serves HTTP (/slack/events, "
            "/slack/install, /slack/oauth_redirect); Socket Mode is for one workspace"
        )


def main() -> int:
    """Start the Slack app; exit code 2 on bad configuration or a refused token, 1 when
    Slack cannot be reached at start."""
    loaded = load_settings()
    if isinstance(loaded, str):
        print(loaded, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(loaded.log_level, log_formatter(loaded))
    warn_of_deprecated_models(loaded)
    warn_of_mode(loaded)
    # Bolt turns to OAuth on its own when it finds these two in the environment, keeping
    # installations in plain-text files under $HOME (and dropping SLACK_BOT_TOKEN): the
    # settings hold them now, and `bot.serving.tenants` builds the OAuth flow when wanted.
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        os.environ.pop(name, None)
    try:
        asyncio.run(_serve(loaded))
    except StartupError as exc:
        print(exc.sentence, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
