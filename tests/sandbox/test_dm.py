"""The sandbox page's DM with Orchestra in-process, under agent view: the DM opens with its
suggested prompts, a message there starts a chat answered in one streamed reply (plan, tasks,
text, footer, feedback), the status line shows while set, Stop is offered while the chat's
agent session is processing and reaches the app as Slack's stop button, feedback is answered
privately in the chat."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.render import notes
from bot.render.native import FEEDBACK_ACTION
from sandbox.dm import DM, NEW
from sandbox.page import USER, USER_NAME
from sandbox.world import World
from tests.sandbox.conftest import eventually

Client = TestClient[Any, Any]


async def dm_view(page: Client, chat: str | None = None, since: int | None = 0) -> dict[str, Any]:
    """What the DM view shows (`chat`, else the newest), in a session started at `since`."""
    params = {"chat": chat} if chat else {}
    if since is not None:
        params["since"] = str(since)
    response = await page.get("/api/dm", params=params)
    assert response.status == 200
    data: dict[str, Any] = await response.json()
    return data


async def post(page: Client, path: str, **body: Any) -> dict[str, Any]:
    response = await page.post(path, json=body)
    assert response.status == 200
    data: dict[str, Any] = await response.json()
    return data


async def shows(page: Client, chat: str, text: str) -> bool:
    return text in (await dm_view(page, chat))["html"]


async def test_with_no_chat_yet_the_view_is_empty(page: Client) -> None:
    assert await dm_view(page) == {"chat": None, "chats": [], "html": "", "live": False, "since": 0}


async def test_opening_the_dm_shows_the_apps_suggested_prompts(page: Client) -> None:
    chat = (await post(page, "/api/dm/new"))["chat"]
    assert chat == NEW  # agent view: no chat until the person writes
    await eventually(lambda: shows(page, chat, 'class="prompts"'))
    shown = await dm_view(page, chat)
    assert shown["chat"] == NEW
    assert notes.PROMPTS_TITLE in shown["html"]
    for title, message in notes.SUGGESTED_PROMPTS:
        assert f">{title}</button>" in shown["html"]
        assert f'data-prompt="{html.escape(message, quote=True)}"' in shown["html"]
    assert shown["chats"] == []


async def test_a_dm_is_answered_in_one_streamed_reply(page: Client, world: World) -> None:
    chat = (await post(page, "/api/dm/send", text="compare three databases", chat=None))["chat"]
    assert chat  # typing with no chat open starts one
    await eventually(lambda: shows(page, chat, "subtasks done"))
    shown = await dm_view(page, chat)
    body = shown["html"]
    assert re.search(f'<div class="author">{USER_NAME}<time [^>]+>[^<]+</time></div>compare', body)
    assert 'class="msg bot streamed"' in body
    assert "Finished: 4 done" in body
    assert body.count('data-status="complete"') == 4
    assert "Demo answer" in body
    assert (
        ">Placeholder source: page 1 for the analyst of option 1 (demo) (example.com)</a>" in body
    )
    assert f'data-action="{FEEDBACK_ACTION}"' in body
    assert 'class="prompts"' not in body  # gone once the person wrote
    assert 'class="status-line"' not in body
    assert shown["live"] is False
    assert shown["chats"] == [{"ts": chat, "title": "compare three databases"}]
    assert USER not in body.replace('id="m', "")


async def test_a_follow_up_in_the_chat_plans_with_the_conversation(
    page: Client, world: World
) -> None:
    chat = (await post(page, "/api/dm/send", text="compare three databases", chat=None))["chat"]
    await eventually(lambda: shows(page, chat, "Finished: 4 done"))
    await post(page, "/api/dm/send", text="what about cost?", chat=chat)
    await eventually(lambda: shows(page, chat, "Finished: 5 done"))
    body = (await dm_view(page, chat))["html"]
    assert "Thread context reader" in body
    assert body.count('class="msg bot streamed"') == 2


async def test_the_status_line_shows_while_set_and_stop_while_processing(
    page: Client, world: World
) -> None:
    chat = world.slack.add_user_message(DM, USER, "hello")
    client = world.deps.io.client
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=chat, status="is <busy>")
    shown = await dm_view(page, chat)
    assert (
        '<div class="status-line" id="status-line"><b>Orchestra</b> is &lt;busy&gt;</div>'
        in (shown["html"])
    )
    assert shown["live"] is True  # Slack offers its stop button while the session processes
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=chat, status="")
    shown = await dm_view(page, chat)
    assert "status-line" not in shown["html"]
    assert shown["live"] is True  # a cleared status line does not end the session
    await client.agents_sessions_setStatus(channel_id=DM, thread_ts=chat, status="active")
    assert (await dm_view(page, chat))["live"] is False


@pytest.mark.parametrize("speed", [1.0])
async def test_stop_reaches_the_app_as_slacks_stop_button(page: Client, world: World) -> None:
    chat = (await post(page, "/api/dm/send", text="compare three databases", chat=None))["chat"]
    await eventually(lambda: shows(page, chat, 'data-status="in_progress"'))
    assert (await dm_view(page, chat))["live"] is True
    assert (await post(page, "/api/dm/stop", chat=chat))["ok"] is True
    cancelled = f'Cancelled by <span class="mention">@{USER_NAME}</span>'
    await eventually(lambda: shows(page, chat, cancelled))
    await eventually(lambda: asyncio.sleep(0, not world.deps.runs.running))
    shown = await dm_view(page, chat)
    assert shown["live"] is False
    assert "Demo answer" not in shown["html"]
    [stream] = world.slack.streams_in(DM, chat)
    assert stream.stopped_by == USER


async def test_feedback_is_answered_privately_in_the_chat(page: Client, world: World) -> None:
    chat = (await post(page, "/api/dm/send", text="compare three databases", chat=None))["chat"]
    await eventually(lambda: shows(page, chat, "subtasks done"))
    [stream] = world.slack.streams_in(DM, chat)
    [buttons] = [b for b in stream.blocks if b["type"] == "context_actions"]
    value = buttons["elements"][0]["positive_button"]["value"]
    click = {"action": FEEDBACK_ACTION, "value": value, "ts": stream.ts, "thread": chat}
    await post(page, "/api/click", **click, where="dm")
    await eventually(lambda: shows(page, chat, notes.FEEDBACK_THANKS))
    body = (await dm_view(page, chat))["html"]
    assert body.index("subtasks done") < body.index(notes.FEEDBACK_THANKS)
    assert "Only visible to you" in body
    assert notes.FEEDBACK_THANKS not in (await dm_view(page, chat, since=None))["html"]


async def test_a_slash_command_in_the_chat_says_to_just_write(page: Client, world: World) -> None:
    chat = (await post(page, "/api/dm/send", text="/research tea", chat=None))["chat"]
    body = (await dm_view(page, chat))["html"]
    assert "Slash commands run in #research" in body
    assert "Only visible to you" in body
    assert world.deps.runs.running == []
