"""The sandbox page's DM with Orchestra: the app's messages tab as Slack shows it under agent
view (manifest `agent_view`), one chat (a thread) at a time.

Opening the DM is `app_home_opened` with tab "messages" (the app answers with suggested
prompts, on the DM). A message typed there, or a suggested prompt clicked, is a DM
(`message.im`, no mention needed) that starts a thread of its own; a message typed in an
open chat is a reply in its thread. The reply is the app's streamed message
(`render_stream`), the thread's status line shows under it while set, and Stop is Slack's
native stop button (`agent_session_stopped`), offered while the thread's agent session is
processing."""

from __future__ import annotations

import html
import re
from typing import Any

from sandbox.fakes.slack import BOT_ID, BOT_NAME, BOT_USER, FakeSlack, Message
from sandbox.private import PrivateNote, PrivateNotes
from sandbox.render import Names, message_html, names_of
from sandbox.render_stream import stream_html
from sandbox.world import World

DM = "DSANDBOX"  # the sandbox person's DM with the app
NEW = "new"  # the DM with no chat open: its prompts, and a composer that starts a chat
TITLE_CHARS = 60
COMMANDS_HERE = (
    "Slash commands run in #{channel}. Here, just write what to research: no command or "
    "mention needed."
)
_MENTION = re.compile(r"@orchestra\b", re.IGNORECASE)


def chats(slack: FakeSlack, user: str) -> list[Message]:
    """The roots of `user`'s chats with the app (their top-level messages), oldest first."""
    return [
        m
        for m in slack.channel_messages(DM)
        if m.user == user and not m.bot_id and m.thread_ts is None
    ]


def chat_title(slack: FakeSlack, root: Message) -> str:
    """What a chat is called in the history: the title the app gave it, else the person's
    first message."""
    title = slack.titles.get((DM, root.ts)) or " ".join(root.text.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def working(slack: FakeSlack, chat: str) -> bool:
    """Whether Slack offers its stop button: the chat's agent session is processing (or,
    without one, the app streams or shows a status there)."""
    if slack.session(DM, chat) is not None:
        return slack.session_status(DM, chat) == "processing"
    streaming = any(s.state == "streaming" for s in slack.streams_in(DM, chat))
    return streaming or bool(slack.status(DM, chat))


def _message(slack: FakeSlack, message: Message, names: Names) -> str:
    stream = slack.stream(DM, message.ts) if message.stream is not None else None
    return stream_html(message, stream, names) if stream else message_html(message, names=names)


def _note_html(note: PrivateNote, names: Names) -> str:
    message = Message(note.ts, DM, note.text, note.blocks, bot_id=BOT_ID, thread_ts=note.thread_ts)
    return message_html(message, names=names, private=True)


def _prompts_html(slack: FakeSlack, chat: str) -> str:
    """The suggested prompts the app set for the chat, as buttons (each sends its message)."""
    suggested = slack.suggested_prompts.get((DM, chat))
    if suggested is None:
        return ""
    buttons = "".join(
        f'<button class="btn prompt" data-prompt="{html.escape(p["message"], quote=True)}" '
        f'title="{html.escape(p["message"], quote=True)}">{html.escape(p["title"])}</button>'
        for p in suggested.prompts
    )
    title = f'<div class="context">{html.escape(suggested.title)}</div>' if suggested.title else ""
    return f'<div class="prompts" id="prompts">{title}<div class="actions">{buttons}</div></div>'


def _status_html(slack: FakeSlack, chat: str) -> str:
    status = slack.status(DM, chat)
    if not status:
        return ""
    return (
        f'<div class="status-line" id="status-line"><b>{html.escape(BOT_NAME)}</b> '
        f"{html.escape(status)}</div>"
    )


def dm_view(
    slack: FakeSlack, notes: PrivateNotes, chat: str | None, since: int | None
) -> dict[str, Any]:
    """One chat with the app (`chat`, else the newest; None when there is none yet; `NEW`:
    none open), rendered: its messages and private notes in time order (with none open, the
    DM's suggested prompts and its private notes), the status line while set; whether to
    offer Stop; the history of chats."""
    notes.sync()
    since = notes.count() if since is None else since
    roots = chats(slack, notes.user)
    history = [{"ts": r.ts, "title": chat_title(slack, r)} for r in roots]
    names = names_of(slack)
    if chat == NEW:
        items = [(n.ts, _note_html(n, names)) for n in notes.shown(since, None)]
        body = _prompts_html(slack, "") + "".join(part for _, part in sorted(items))
        return {"chat": NEW, "chats": history, "html": body, "live": False, "since": since}
    if chat not in {r.ts for r in roots}:
        chat = roots[-1].ts if roots else None
    if chat is None:
        return {"chat": None, "chats": history, "html": "", "live": False, "since": since}
    items = [(m.ts, _message(slack, m, names)) for m in slack.thread(DM, chat)]
    items += [(n.ts, _note_html(n, names)) for n in notes.shown(since, chat)]
    body = "".join(part for _, part in sorted(items, key=lambda item: float(item[0])))
    body += _status_html(slack, chat)
    return {
        "chat": chat,
        "chats": history,
        "html": body,
        "live": working(slack, chat),
        "since": since,
    }


async def new_chat(world: World, user: str) -> str:
    """The person opens the DM with no chat open (Slack tells the app: agent view's
    `app_home_opened`, tab "messages"); `NEW`."""
    await world.open_dm(user=user, channel=DM)
    return NEW


async def send_dm(
    world: World, notes: PrivateNotes, text: str, chat: str | None, *, user: str, channel: str
) -> str | None:
    """What typing in the chat's composer (or clicking a suggested prompt) does, as Slack
    would deliver it to the app; the chat it went to (a new one if none was open)."""
    text = text.strip()
    thread = None if chat in (None, NEW) else chat
    if not text:
        return chat
    if text.startswith("/"):
        notes.add(COMMANDS_HERE.format(channel=channel), thread)
        return chat or NEW
    text = _MENTION.sub(f"<@{BOT_USER}>", text)
    _, ts = await world.dm(text, user=user, channel=DM, thread_ts=thread)
    return thread or ts
