"""The sandbox's web page: a minimal Slack channel driving the real app via the fake Slack."""

from __future__ import annotations

import asyncio
import html
from importlib import resources
from typing import Any

from aiohttp import web

from sandbox.fakes.slack import BOT_USER
from sandbox.render import message_html
from sandbox.world import World

USER = "USANDBOX"
CHANNEL = "CSANDBOX"


def channel_view(world: World, thread: str | None) -> dict[str, Any]:
    """The channel and (optionally) one open thread, rendered."""
    slack = world.slack
    parents = slack.channel_messages(CHANNEL)
    channel_html = "".join(
        message_html(m, replies=len(slack.thread(CHANNEL, m.ts)) - 1) for m in parents
    )
    thread_html = ""
    if thread:
        thread_html = "".join(message_html(m) for m in slack.thread(CHANNEL, thread))
    notes = [text for channel, user, text in slack.ephemeral if channel == CHANNEL and user == USER]
    notes += [str(r.get("text", "")) for r in slack.responses]
    ephemeral_html = "".join(
        f'<div class="ephemeral">Only visible to you: {html.escape(n)}</div>' for n in notes[-3:]
    )
    return {"channel": channel_html, "thread": thread_html, "ephemeral": ephemeral_html}


async def send(world: World, text: str, thread: str | None) -> None:
    """What typing in the composer does, as Slack would deliver it to the app."""
    text = text.strip()
    if text.startswith("/"):
        command, _, rest = text.partition(" ")
        response = await world.command(rest, user=USER, channel=CHANNEL, command=command)
        # Slack shows the text of a command's ack (usage help, "busy") only to the sender;
        # Bolt sends ack(text=...) as a text/plain body, a bare ack as an empty one.
        note = (await response.text()).strip()
        if note:
            world.slack.ephemeral.append((CHANNEL, USER, note))
    elif "@orchestra" in text.lower():
        tagged = text.replace("@Orchestra", f"<@{BOT_USER}>").replace(
            "@orchestra", f"<@{BOT_USER}>"
        )
        await world.mention(tagged, user=USER, channel=CHANNEL, thread_ts=thread)
    elif text:
        world.slack.add_user_message(CHANNEL, USER, text, thread)


def create_page_app(world: World, banner: str) -> web.Application:
    """Routes of the page: static shell, rendered view, live changes (SSE), composer, clicks."""
    app = web.Application()
    shell = resources.files("sandbox").joinpath("static/index.html").read_text(encoding="utf-8")
    page = shell.replace("{{BANNER}}", html.escape(banner))

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def view(request: web.Request) -> web.Response:
        return web.json_response(channel_view(world, request.query.get("thread") or None))

    # Open event streams never end by themselves, and aiohttp's shutdown waits up to 60 s for
    # every handler: so shutdown cancels them, or Ctrl-C with a tab open would hang.
    streams: set[asyncio.Task[Any]] = set()

    async def end_streams(app: web.Application) -> None:
        for task in streams:
            task.cancel()

    async def events(request: web.Request) -> web.StreamResponse:
        # Server-sent events: the page re-renders when the fake's state changes; no polling.
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue = world.slack.subscribe()
        task = asyncio.current_task()
        if task is not None:
            streams.add(task)
        try:
            await response.write(b"data: hello\n\n")
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), timeout=15)
                    await response.write(f"data: {change.kind}\n\n".encode())
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the tab went away, or `end_streams` ended the stream: both are the end
        finally:
            world.slack.unsubscribe(queue)
            if task is not None:
                streams.discard(task)
        return response

    async def post_send(request: web.Request) -> web.Response:
        data = await request.json()
        await send(world, str(data.get("text", "")), data.get("thread") or None)
        return web.json_response({"ok": True})

    async def post_click(request: web.Request) -> web.Response:
        data = await request.json()
        await world.click(
            str(data["action"]),
            str(data["value"]),
            message_ts=str(data["ts"]),
            thread_ts=data.get("thread") or None,
            user=USER,
            channel=CHANNEL,
        )
        return web.json_response({"ok": True})

    app.on_shutdown.append(end_streams)
    app.router.add_get("/", index)
    app.router.add_get("/api/view", view)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/send", post_send)
    app.router.add_post("/api/click", post_click)
    return app
