"""Start-up checks: the tokens work and Slack answers, before the app says it is ready.

Without them a revoked token or an unreachable Slack leaves a process that looks healthy
while every request fails. Each problem becomes a `StartupError`: one sentence naming what
to fix, and the exit code (2: configuration, 1: Slack unreachable, worth a restart)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.deps import Workspace
from bot.slack.errors import TRANSIENT
from bot.store import DatabaseURLError, RunStore, StoreDown
from bot.store.file_lock import StoreFileLock, lock_path

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 1

# Four attempts over about 7 s: enough to ride out a network that is not up yet when a
# container starts, short enough that a Slack outage is reported within half a minute.
RETRY_WAITS_S: Sequence[float] = (1.0, 2.0, 4.0)
CALL_TIMEOUT_S = 5  # seconds per call (slack_sdk takes an int)
# Socket Mode's own connect loop retries forever; past this the start is reported failed.
CONNECT_TIMEOUT_S = 30.0


_WHERE = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page",
    "SLACK_APP_TOKEN": (
        "an App-Level Token (xapp-…) with the connections:write scope from the app's "
        "Basic Information page"
    ),
}


class StartupError(Exception):
    """Start-up cannot go on: print `sentence`, exit with `exit_code`."""

    def __init__(self, sentence: str, exit_code: int) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.exit_code = exit_code


async def check_bot_token(
    token: str, api_url: str, *, waits: Sequence[float] = RETRY_WAITS_S
) -> Workspace:
    """`auth.test` with the bot token; a refused token or an unreachable Slack is fatal."""
    response = await _ask(
        lambda client: client.auth_test(), token, "SLACK_BOT_TOKEN", api_url, waits
    )
    return Workspace(str(response.get("team_id") or ""), str(response.get("url") or ""))


async def socket_mode_url(
    app_token: str, api_url: str, *, waits: Sequence[float] = RETRY_WAITS_S
) -> str:
    """A fresh Socket Mode WebSocket URL (`apps.connections.open` with the app token)."""
    response = await _ask(
        lambda client: client.apps_connections_open(app_token=app_token),
        app_token,
        "SLACK_APP_TOKEN",
        api_url,
        waits,
    )
    return str(response["url"])


async def _ask(
    call: Callable[[AsyncWebClient], Awaitable[AsyncSlackResponse]],
    token: str,
    variable: str,
    api_url: str,
    waits: Sequence[float],
) -> AsyncSlackResponse:
    if not token.isascii() or not token.isprintable() or " " in token:
        raise StartupError(
            f"{variable} is not a Slack token (it has spaces or characters a token cannot "
            f"have); set {_WHERE[variable]}.",
            EXIT_CONFIG,
        )
    # The one retry policy here is ours: slack_sdk's handlers are off for this client.
    client = AsyncWebClient(
        token=token, base_url=api_url, timeout=CALL_TIMEOUT_S, retry_handlers=[]
    )
    problem = ""
    for wait in (*waits, None):
        try:
            return await call(client)
        except SlackApiError as exc:
            problem = _refusal_or_problem(exc, variable, api_url)
        except (aiohttp.ClientError, OSError) as exc:  # refused, reset, DNS, timeouts
            problem = type(exc).__name__
        if wait is None:
            break
        logger.info("Slack did not answer (%s); trying again in %.0f s", problem, wait)
        await asyncio.sleep(wait)
    raise StartupError(
        f"Could not reach Slack at {api_url} ({problem}, {len(waits) + 1} attempts); "
        "check the network and SLACK_API_URL, then start again.",
        EXIT_UNREACHABLE,
    )


def _refusal_or_problem(exc: SlackApiError, variable: str, api_url: str) -> str:
    """The transient problem to retry on, or raise: Slack answered and said no."""
    status = int(exc.response.status_code)
    data = exc.response.data  # a str when the answer was not JSON
    error = _code(data.get("error") if isinstance(data, dict) else None)
    if status >= 500 or status == 429 or error in TRANSIENT:
        return error or f"HTTP {status}"
    if status != 200 or not error:  # Slack says no with 200 and an error code: a wrong URL
        raise StartupError(
            f"{api_url} did not answer like Slack's Web API (HTTP {status}); check SLACK_API_URL.",
            EXIT_CONFIG,
        ) from None
    raise StartupError(
        f"Slack refused {variable} ({error}): it is mistyped, revoked or "
        f"for another app; set {_WHERE[variable]}.",
        EXIT_CONFIG,
    ) from None


def _code(value: object) -> str:
    """Slack's error code, reduced to what an error code can contain (it is printed)."""
    return re.sub(r"[^a-z0-9_]", "", str(value or "").lower())[:60]


async def open_store(url: str) -> RunStore:
    """The run store at `url`, migrated; a StartupError naming the variable if it cannot be."""
    try:
        return await RunStore.open(url)
    except DatabaseURLError as exc:
        raise StartupError(f"ORCHESTRA_DATABASE_URL: {exc}", EXIT_CONFIG) from None
    except (StoreDown, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc, StoreDown) and exc.__cause__ else exc
        raise StartupError(
            f"Could not open the run store (ORCHESTRA_DATABASE_URL): {type(cause).__name__}; "
            "check that the database is reachable, then start again.",
            EXIT_UNREACHABLE,
        ) from None


# How long a new process waits for another one to let go of the SQLite file, as a multiple of
# ORCHESTRA_SHUTDOWN_TIMEOUT_S: a deploy that starts the new process before stopping the old
# gives the old one that long to pause its runs, and then it closes its store and exits.
STORE_LOCK_WAIT = 1.5
STORE_LOCK_POLL_S = 0.2


async def sole_user_of_store(
    database_url: str, wait_s: float, *, poll_s: float = STORE_LOCK_POLL_S
) -> StoreFileLock | None:
    """Without Redis, one process per SQLite file (`bot.store.file_lock` says why): the
    lock beside the database, held for the process's life; None for PostgreSQL. Waits up to
    `wait_s` for another process to exit, then raises a StartupError naming it."""
    try:
        path = lock_path(database_url)
    except DatabaseURLError as exc:
        raise StartupError(f"ORCHESTRA_DATABASE_URL: {exc}", EXIT_CONFIG) from None
    if path is None:
        return None
    lock = StoreFileLock(path)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        if not lock.try_acquire():
            logger.warning(
                "the run store %s is in use by another process (pid %s); waiting up to "
                "%.0f s for it to exit",
                path.with_suffix(""),
                lock.holder() or "unknown",
                wait_s,
            )
        # Polling: the holder is another process, and flock has no asynchronous wait.
        while not lock.try_acquire():
            if loop.time() >= deadline:
                raise StartupError(_store_taken(path, lock.holder()), EXIT_UNREACHABLE)
            await asyncio.sleep(poll_s)
    except OSError as exc:  # the folder cannot be written, for one
        raise StartupError(
            f"Could not lock the run store ({path}): {type(exc).__name__}; check that its "
            "folder is writable (ORCHESTRA_DATABASE_URL).",
            EXIT_CONFIG,
        ) from None
    return lock


def _store_taken(path: Path, holder: int | None) -> str:
    who = f"pid {holder}" if holder is not None else "pid unknown"
    return (
        f"Another Orchestra process ({who}) is using the run store {path.with_suffix('')}, "
        "and SQLite serves one process: stop that process first, or run several with "
        "PostgreSQL and Redis (ORCHESTRA_DATABASE_URL, ORCHESTRA_REDIS_URL)."
    )
