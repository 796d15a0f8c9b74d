"""The sandbox page's DM with Orchestra: the app's messages tab as Slack shows it, one chat
(an assistant thread) at a time.

Opening a chat is what Slack does when a person starts a new one: it posts the thread's root
and sends the app `assistant_thread_started` (the app answers with suggested prompts). A
message typed there, or a suggested prompt clicked, is a DM in that thread (`message.im`, no
mention needed); the reply is the app's streamed message (`render_stream`), the thread's
status line shows under it while set, and Stop is Slack's native stop button
(`agent_session_stopped`), offered while the app works: a stream is live or a status is set."""

from __future__ import annotations

import html
import re
from typing import Any

from sandbox.fakes.slack import BOT_ID, BOT_NAME, BOT_USER, FakeSlack, Message
from sandbox.private import PrivateNote, PrivateNotes
from sandbox.render import Names, message_html
from sandbox.render_stream import stream_html
from sandbox.world import World

DM = "DSANDBOX"  # the sandbox person's DM with the app
CHAT_ROOT = "assistant_app_thread"  # the subtype of the root Slack posts for a new chat
TITLE_CHARS = 60
COMMANDS_HERE = (
    "Slash commands run in #{channel}. Here, just write what to research: no command or "
    "mention needed."
)
_MENTION = re.compile(r"@orchestra\b", re.IGNORECASE)


def chats(slack: FakeSlack, user: str) -> list[Message]:
    """The roots of `user`'s chats with the app, oldest first."""
    return [
        m
        for m in slack.channel_messages(DM)
        if m.subtype == CHAT_ROOT and m.user == user and m.thread_ts is None
    ]


def chat_title(slack: FakeSlack, root: Message) -> str:
    """What a chat is called in the history: the title the app gave it, else the person's
    first message, else Slack's own ("New chat")."""
    asked = next((m.text for m in slack.thread(DM, root.ts) if m.ts != root.ts and m.user), "")
    title = slack.titles.get((DM, root.ts)) or " ".join(asked.split()) or root.text
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def working(slack: FakeSlack, chat: str) -> bool:
    """Whether Slack offers its stop button: the app streams or shows a status in the chat."""
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
    """One chat with the app (`chat`, else the newest; None when there is none yet), rendered:
    its messages and private notes in time order, the suggested prompts until the person
    writes, the status line while set; whether to offer Stop; the history of chats."""
    notes.sync()
    since = notes.count() if since is None else since
    roots = chats(slack, notes.user)
    if chat not in {r.ts for r in roots}:
        chat = roots[-1].ts if roots else None
    history = [{"ts": r.ts, "title": chat_title(slack, r)} for r in roots]
    if chat is None:
        return {"chat": None, "chats": history, "html": "", "live": False, "since": since}
    names = slack.users
    replies = [m for m in slack.thread(DM, chat) if m.ts != chat]
    items = [(m.ts, _message(slack, m, names)) for m in replies]
    items += [(n.ts, _note_html(n, names)) for n in notes.shown(since, chat)]
    body = "".join(part for _, part in sorted(items, key=lambda item: float(item[0])))
    if not any(m.user == notes.user for m in replies):
        body += _prompts_html(slack, chat)
    body += _status_html(slack, chat)
    return {
        "chat": chat,
        "chats": history,
        "html": body,
        "live": working(slack, chat),
        "since": since,
    }


async def new_chat(world: World, user: str) -> str:
    """The person starts a new chat with the app; its thread's ts."""
    _, chat = await world.open_assistant_thread(user=user, channel=DM)
    return chat


async def send_dm(
    world: World, notes: PrivateNotes, text: str, chat: str | None, *, user: str, channel: str
) -> str | None:
    """What typing in the chat's composer (or clicking a suggested prompt) does, as Slack
    would deliver it to the app; the chat it went to (a new one if none was open)."""
    text = text.strip()
    if not text:
        return chat
    chat = chat or await new_chat(world, user)
    if text.startswith("/"):
        notes.add(COMMANDS_HERE.format(channel=channel), chat)
        return chat
    await world.dm(_MENTION.sub(f"<@{BOT_USER}>", text), user=user, channel=DM, thread_ts=chat)
    return chat
