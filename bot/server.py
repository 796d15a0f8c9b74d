"""Running the app: HTTP mode (aiohttp) or Socket Mode, until a stop signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.app import create_web_app
from bot.deps import Deps

logger = logging.getLogger(__name__)


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


async def serve_http(app: AsyncApp, deps: Deps) -> None:
    """HTTP mode until stopped; live runs are told about the restart before exit."""
    stop = stop_on_signals()
    settings = deps.settings
    async with http_server(app, deps, settings.host, settings.port) as url:
        logger.info("listening on %s/slack/events", url)
        await stop.wait()
        logger.info("stopping: %d live runs", len(deps.runs.live))


async def serve_socket_mode(app: AsyncApp, deps: Deps, app_token: str) -> None:
    """Socket Mode until stopped (no public URL needed)."""
    stop = stop_on_signals()
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # slack_bolt leaves it untyped
    logger.info("connected in Socket Mode")
    try:
        await stop.wait()
    finally:
        await deps.runs.shutdown(deps.settings.shutdown_timeout_s)
        await handler.close_async()  # type: ignore[no-untyped-call]  # as above
