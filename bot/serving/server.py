"""Running the app: HTTP mode (aiohttp) or Socket Mode, until a stop signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.serving.app import create_web_app
from bot.serving.socket_link import SocketLink, SocketModeHandler
from bot.serving.startup import CONNECT_TIMEOUT_S, EXIT_UNREACHABLE, StartupError, socket_mode_url

logger = logging.getLogger(__name__)

T = TypeVar("T")


@asynccontextmanager
async def http_server(app: AsyncApp, deps: Deps, host: str, port: int) -> AsyncIterator[str]:
    """Serve the app over HTTP; yields its base URL (port 0 picks a free port)."""
    runner = web.AppRunner(create_web_app(app, deps), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp keeps the bound socket here; needed to learn port 0's port
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    try:
        yield f"http://{host}:{bound}"
    finally:
        await deps.runs.shutdown(deps.settings.shutdown_timeout_s)
        await runner.cleanup()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (containers stop with SIGTERM)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, T]) -> T | None:
    """`work`'s result, unless `stop` is set first: then `work` is cancelled and None returned.

    Start-up steps can wait a long time (retries, a connect loop that never gives up), and a
    stop signal must still end the process promptly."""
    done, result = await _race(stop, work)
    return result if done else None


async def finished_before(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` unless `stop` is set first; then cancel it and return False."""
    done, _ = await _race(stop, work)
    return done


async def _race(stop: asyncio.Event, work: Coroutine[Any, Any, T]) -> tuple[bool, T | None]:
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False, None
    return True, task.result()  # re-raises what the work raised


async def serve_http(app: AsyncApp, deps: Deps, stop: asyncio.Event) -> None:
    """HTTP mode until stopped; live runs are told about the restart before exit."""
    settings = deps.settings
    async with http_server(app, deps, settings.host, settings.port) as url:
        logger.info("listening on %s/slack/events", url)
        await stop.wait()
        logger.info("stopping: %d live runs", len(deps.runs.running))


async def connect_socket_mode(
    handler: AsyncSocketModeHandler, app_token: str, api_url: str
) -> None:
    """Open the Socket Mode connection, or raise `StartupError` saying why not.

    The WebSocket URL is asked for here, not inside slack_sdk's connect loop, because that
    loop retries a refused app token forever; a refusal here names SLACK_APP_TOKEN."""
    handler.client.wss_uri = await socket_mode_url(app_token, api_url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await handler.connect_async()  # type: ignore[no-untyped-call]  # slack_bolt leaves it untyped
    except TimeoutError:
        raise StartupError(
            f"Could not open a Socket Mode connection to Slack within {CONNECT_TIMEOUT_S:.0f} s; "
            "check the network (WebSockets to wss-primary.slack.com), then start again.",
            EXIT_UNREACHABLE,
        ) from None


async def serve_socket_mode(app: AsyncApp, deps: Deps, app_token: str, stop: asyncio.Event) -> None:
    """Socket Mode until stopped (no public URL needed); a stop while connecting ends it.

    So does a disconnect that cannot heal (`bot.serving.socket_link`): live runs are paused as for a
    stop, then its StartupError ends the process with one sentence, as a failed start does."""
    api_url = deps.settings.slack_api_url
    link = SocketLink(app_token, api_url, web_client=app.client, sdk_logger=app.logger)
    handler = SocketModeHandler(app, link)
    try:
        connect = connect_socket_mode(handler, app_token, api_url)
        if not await finished_before(stop, connect):
            logger.info("stopped while connecting to Slack")
            return
        logger.info("connected in Socket Mode")
        if await until_stopped(stop, link.gave_up.wait()) and link.fatal is not None:
            raise link.fatal
    finally:
        await deps.runs.shutdown(deps.settings.shutdown_timeout_s)
        await handler.close_async()  # type: ignore[no-untyped-call]  # as above
