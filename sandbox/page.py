"""The sandbox's web page: a minimal Slack (a channel and its threads, and the app's Home tab
and its messages tab, a DM with it: see `sandbox.home` and `sandbox.dm`) driving the real app
via the fake Slack."""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from importlib import resources
from typing import Any

from aiohttp import web

from sandbox.dm import DM, dm_view, new_chat, send_dm
from sandbox.fakes.slack import BOT_ID, BOT_USER, Message
from sandbox.home import home_view, open_home
from sandbox.private import PrivateNote, PrivateNotes
from sandbox.render import Names, canvas_html, message_html, names_of
from sandbox.world import World

USER = "USANDBOX"
USER_NAME = "Ada"  # the sandbox's person, as Slack would name them (see `users.info`)
CHANNEL = "CSANDBOX"
CHANNEL_NAME = "research"
_MENTION = re.compile(r"@orchestra\b", re.IGNORECASE)
# How often an open event stream looks for replies Slack does not announce (a command's
# response_url), and how often it says it is alive.
_POLL_S, _KEEP_ALIVE_S = 1.0, 15.0


def _ordered(items: list[tuple[str, str]]) -> str:
    """HTML of (ts, html) items in time order (a ts is seconds with six decimals)."""
    return "".join(part for _, part in sorted(items, key=lambda item: float(item[0])))


def _note_html(note: PrivateNote, names: Names) -> str:
    message = Message(note.ts, CHANNEL, note.text, note.blocks, bot_id=BOT_ID)
    return message_html(message, names=names, private=True)


def channel_view(
    world: World, notes: PrivateNotes, thread: str | None, since: int | None = None
) -> dict[str, Any]:
    """The channel and (optionally) one open thread, rendered, with the private notes of
    the session that started at `since` (None: a session starting now)."""
    slack = world.slack
    notes.sync()
    since = notes.count() if since is None else since
    names = names_of(slack)
    channel = [
        (m.ts, message_html(m, replies=len(slack.thread(CHANNEL, m.ts)) - 1, names=names))
        for m in slack.channel_messages(CHANNEL)
    ]
    channel += [(n.ts, _note_html(n, names)) for n in notes.shown(since, None)]
    replies: list[tuple[str, str]] = []
    if thread:
        replies = [(m.ts, message_html(m, names=names)) for m in slack.thread(CHANNEL, thread)]
        replies += [(n.ts, _note_html(n, names)) for n in notes.shown(since, thread)]
    return {"channel": _ordered(channel), "thread": _ordered(replies), "since": since}


def _ack_text(body: str, content_type: str) -> str:
    """What Slack shows the sender of a command from its ack: Bolt sends `ack(text=...)` as
    text/plain, a richer ack as JSON, a bare ack as an empty body."""
    if content_type == "application/json" and body:
        return str(json.loads(body).get("text", ""))
    return body.strip()


def where_it_went(command: str, text: str, ack: str) -> str:
    """The private note in a thread pane where someone typed a slash command: Slack runs it
    in the channel, so say where its reply or its run went."""
    if ack or text.strip().lower() == "history":  # a reply, not a run
        return (
            "Slack runs slash commands typed in a thread in the channel: the reply to your "
            f"{command} is in #{CHANNEL_NAME}."
        )
    return (
        f"Your {command} started in the channel, in a new thread of #{CHANNEL_NAME} (Slack "
        "runs slash commands typed in a thread in the channel). To research within this "
        "thread, with its messages as context, mention @Orchestra here."
    )


async def send(world: World, notes: PrivateNotes, text: str, thread: str | None) -> None:
    """What typing in a composer does, as Slack would deliver it to the app."""
    text = text.strip()
    if text.startswith("/"):
        # The command ends at the first space or line break (the composer takes several lines).
        command, *more = text.split(maxsplit=1)
        rest = more[0] if more else ""
        response = await world.command(rest, user=USER, channel=CHANNEL, command=command)
        if response.status == 404:  # no listener for it: Bolt answers 404
            notes.add(f"`{command}` is not a command here. Try `/research <goal>`.", thread)
            return
        ack = _ack_text(await response.text(), response.content_type)
        if ack:
            notes.add(ack, None)  # shown to the sender, in the channel the command ran in
        if thread:
            notes.add(where_it_went(command, rest, ack), thread)
    elif _MENTION.search(text):
        tagged = _MENTION.sub(f"<@{BOT_USER}>", text)
        await world.mention(tagged, user=USER, channel=CHANNEL, thread_ts=thread)
    elif text:
        world.slack.add_user_message(CHANNEL, USER, text, thread)


def _shell() -> str:
    return resources.files("sandbox").joinpath("static/index.html").read_text(encoding="utf-8")


def _favicon() -> bytes:
    return resources.files("sandbox").joinpath("static/favicon.svg").read_bytes()


def create_page_app(world: World, banner: str) -> web.Application:
    """Routes of the page: static shell, rendered view, live changes (SSE), composer, clicks."""
    app = web.Application()
    world.slack.add_user(USER, USER_NAME)
    world.slack.add_channel(CHANNEL, members=(USER,), name=CHANNEL_NAME)  # `<#CSANDBOX>` by name
    notes = PrivateNotes(world.slack, USER, CHANNEL)
    dm_notes = PrivateNotes(world.slack, USER, DM)
    page = (
        _shell()
        .replace("{{BANNER}}", html.escape(banner))
        .replace("{{USER_NAME}}", html.escape(USER_NAME))
        .replace("{{CHANNEL_NAME}}", html.escape(CHANNEL_NAME))
        .replace("{{CHANNEL}}", html.escape(CHANNEL))
        .replace("{{DM}}", html.escape(DM))
    )
    favicon = _favicon()

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def icon(request: web.Request) -> web.Response:
        return web.Response(body=favicon, content_type="image/svg+xml")

    async def view(request: web.Request) -> web.Response:
        since = request.query.get("since", "")
        shown = channel_view(
            world,
            notes,
            request.query.get("thread") or None,
            int(since) if since.isdigit() else None,
        )
        return web.json_response(shown)

    async def dm(request: web.Request) -> web.Response:
        since = request.query.get("since", "")
        shown = dm_view(
            world.slack,
            dm_notes,
            request.query.get("chat") or None,
            int(since) if since.isdigit() else None,
        )
        return web.json_response(shown)

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
            alive = time.monotonic()
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), timeout=_POLL_S)
                    # An ephemeral is placed when it arrives, not when viewed.
                    notes.sync()
                    dm_notes.sync()
                    await response.write(f"data: {change.kind}\n\n".encode())
                except TimeoutError:
                    if any([notes.sync(), dm_notes.sync()]):  # both, whatever the first says
                        await response.write(b"data: private\n\n")
                    elif time.monotonic() - alive > _KEEP_ALIVE_S:
                        await response.write(b": keep-alive\n\n")
                    else:
                        continue
                alive = time.monotonic()
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the tab went away, or `end_streams` ended the stream: both are the end
        finally:
            world.slack.unsubscribe(queue)
            if task is not None:
                streams.discard(task)
        return response

    async def post_send(request: web.Request) -> web.Response:
        data = await request.json()
        await send(world, notes, str(data.get("text", "")), data.get("thread") or None)
        return web.json_response({"ok": True})

    async def post_click(request: web.Request) -> web.Response:
        data = await request.json()
        await world.click(
            str(data["action"]),
            str(data["value"]),
            message_ts=str(data["ts"]),
            thread_ts=data.get("thread") or None,
            user=USER,
            channel=DM if data.get("where") == "dm" else CHANNEL,
        )
        return web.json_response({"ok": True})

    async def post_dm_send(request: web.Request) -> web.Response:
        data = await request.json()
        chat = await send_dm(
            world,
            dm_notes,
            str(data.get("text", "")),
            data.get("chat") or None,
            user=USER,
            channel=CHANNEL_NAME,
        )
        return web.json_response({"ok": True, "chat": chat})

    async def home(request: web.Request) -> web.Response:
        return web.json_response(home_view(world.slack, USER))

    async def post_home_open(request: web.Request) -> web.Response:
        return web.json_response({"ok": await open_home(world, USER, DM)})

    async def post_dm_new(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "chat": await new_chat(world, USER)})

    async def post_dm_stop(request: web.Request) -> web.Response:
        # Slack's stop button: it stops the chat's live streams, then tells the app.
        data = await request.json()
        response = await world.stop_button(thread_ts=str(data["chat"]), user=USER, channel=DM)
        return web.json_response({"ok": response.status == 200})

    async def canvas(request: web.Request) -> web.Response:
        # A canvas the app made (canvases.create), as the person opening its link reads it.
        found = world.slack.canvases.get(request.match_info["canvas_id"])
        if found is None:
            raise web.HTTPNotFound(text="No such canvas.")
        shown = canvas_html(found.title, found.markdown, names_of(world.slack))
        return web.json_response({"title": found.title, "html": shown})

    async def file(request: web.Request) -> web.Response:
        # A file the app shared (files.completeUploadExternal): its bytes, to download.
        found = world.slack.files.get(request.match_info["file_id"])
        if found is None or found.content is None:
            raise web.HTTPNotFound(text="No such file.")
        disposition = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", found.filename)}"'
        return web.Response(
            body=found.content,
            content_type="text/markdown",
            charset="utf-8",
            headers={"Content-Disposition": disposition},
        )

    app.on_shutdown.append(end_streams)
    app.router.add_get("/api/canvas/{canvas_id}", canvas)
    app.router.add_get("/api/files/{file_id}", file)
    app.router.add_get("/", index)
    app.router.add_get("/favicon.svg", icon)
    app.router.add_get("/favicon.ico", icon)
    app.router.add_get("/api/view", view)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/send", post_send)
    app.router.add_post("/api/click", post_click)
    app.router.add_get("/api/dm", dm)
    app.router.add_get("/api/home", home)
    app.router.add_post("/api/home/open", post_home_open)
    app.router.add_post("/api/dm/send", post_dm_send)
    app.router.add_post("/api/dm/new", post_dm_new)
    app.router.add_post("/api/dm/stop", post_dm_stop)
    return app
