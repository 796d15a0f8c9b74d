"""`python -m sandbox`: fake Slack + Claude (real with a key, offline demo without) + the real
app over HTTP + a Slack-like page on http://127.0.0.1:8080."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys

from aiohttp import web

from bot.serving.server import stop_on_signals
from pipeline import LLM, PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.demo import install_demo
from sandbox.fakes.slack import FakeSlack
from sandbox.page import create_page_app
from sandbox.world import running_world, world_settings

logger = logging.getLogger(__name__)


async def serve(port: int, api_key: str | None) -> None:
    """Run the sandbox until SIGINT/SIGTERM."""
    stop = stop_on_signals()
    # Suggested follow-ups as the app has them by default (ORCHESTRA_FOLLOW_UPS).
    config = PipelineConfig(follow_ups=3)
    # A canvas's threshold as the app's (ORCHESTRA_CANVAS_MIN_CHARS; the demo's answers are
    # short, so lower it to watch one become a canvas).
    min_chars = int(os.environ.get("ORCHESTRA_CANVAS_MIN_CHARS") or 3000)
    async with FakeSlack() as slack, FakeAnthropic() as demo_claude:
        llm: LLM
        if api_key:
            client = make_client(
                api_key, os.environ.get("ANTHROPIC_BASE_URL"), config.call_timeout_s
            )
            llm, banner = (
                AnthropicLLM(client),
                "Model backend: real Claude (ANTHROPIC_API_KEY is set).",
            )
        else:
            install_demo(demo_claude)
            client = make_client(demo_claude.api_key, demo_claude.base_url, config.call_timeout_s)
            llm = AnthropicLLM(client)
            banner = (
                "Model backend: OFFLINE DEMO: no model is called; plans and results are "
                "placeholders. Set ANTHROPIC_API_KEY for real Claude. Add [flaky] or [broken] "
                "to a goal to watch retries or a failing subtask."
            )
        settings = world_settings(slack, canvas_min_chars=min_chars)
        async with running_world(slack, llm, config, settings) as world:
            runner = web.AppRunner(create_page_app(world, banner), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            print(f"Orchestra sandbox: http://127.0.0.1:{port}  ({banner})", flush=True)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()
                await client.close()


PORT_VARIABLE = "ORCHESTRA_SANDBOX_PORT"


def main() -> int:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    raw = os.environ.get(PORT_VARIABLE, "8080")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        print(f"{PORT_VARIABLE} must be a port number (1-65535), not {raw!r}.", file=sys.stderr)
        return 2
    port = int(raw)
    try:
        asyncio.run(serve(port, os.environ.get("ANTHROPIC_API_KEY") or None))
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = f" Pick another port with {PORT_VARIABLE}, e.g. {PORT_VARIABLE}=8081 make run."
        print(f"Could not start the sandbox on port {port}: {exc.strerror}.{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
