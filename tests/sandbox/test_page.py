"""The sandbox page's routes in-process: the real app, both fakes, the demo model made fast."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.messages import CANCEL_ACTION
from sandbox.fakes.slack import BOT_USER
from sandbox.page import CHANNEL, USER, USER_NAME
from sandbox.world import World
from tests.sandbox.conftest import eventually

View = dict[str, Any]


async def view(
    page: TestClient[Any, Any], thread: str | None = None, since: int | None = 0
) -> View:
    """What the page shows: the channel, and `thread` when one is open, in a session that
    started at `since` (0: the page was loaded before anything happened; None: loading now)."""
    params = {"thread": thread} if thread else {}
    if since is not None:
        params["since"] = str(since)
    response = await page.get("/api/view", params=params)
    assert response.status == 200
    data: View = await response.json()
    return data


async def send(page: TestClient[Any, Any], text: str, thread: str | None = None) -> None:
    """Type in the composer and press Enter."""
    response = await page.post("/api/send", json={"text": text, "thread": thread})
    assert response.status == 200


def first_parent_ts(world: World) -> str:
    """The ts of the channel's first top-level message."""
    return world.slack.channel_messages(CHANNEL)[0].ts


async def test_index_serves_the_composer_and_escapes_the_banner(
    page: TestClient[Any, Any],
) -> None:
    response = await page.get("/")
    text = await response.text()
    assert response.status == 200
    assert 'id="composer"' in text
    assert "Demo &lt;backend&gt;" in text
    assert "{{BANNER}}" not in text


async def test_slash_command_runs_to_an_answer_in_the_thread(
    page: TestClient[Any, Any], world: World
) -> None:
    await send(page, "/research compare three databases")

    async def answered() -> bool:
        if not world.slack.channel_messages(CHANNEL):
            return False
        return "subtasks done" in (await view(page, first_parent_ts(world)))["thread"]

    await eventually(answered)
    shown = await view(page, first_parent_ts(world))
    assert "asked Orchestra to research: compare three databases" in shown["channel"]
    assert 'class="replies"' in shown["channel"]
    assert "Demo answer" in shown["thread"]
    assert "4/4 subtasks done" in shown["thread"]


async def test_without_an_open_thread_the_view_has_none(
    page: TestClient[Any, Any], world: World
) -> None:
    await send(page, "/research compare three databases")
    await eventually(lambda: asyncio.sleep(0, bool(world.slack.channel_messages(CHANNEL))))
    assert (await view(page))["thread"] == ""


@pytest.mark.parametrize("speed", [1.0])
async def test_clicking_cancel_cancels_the_run(page: TestClient[Any, Any], world: World) -> None:
    await send(page, "/research compare three databases")

    def cancel_button() -> tuple[str, str, str] | None:
        for message in world.slack.messages.get(CHANNEL, []):
            for block in message.blocks:
                for element in block.get("elements", []):
                    if element.get("action_id") == CANCEL_ACTION:
                        return element["value"], message.ts, str(message.thread_ts)
        return None

    await eventually(lambda: asyncio.sleep(0, cancel_button() is not None))
    found = cancel_button()
    assert found is not None
    run_id, ts, thread = found
    response = await page.post(
        "/api/click", json={"action": CANCEL_ACTION, "value": run_id, "ts": ts, "thread": thread}
    )
    assert response.status == 200

    async def cancelled() -> bool:
        return "Cancelled by" in (await view(page, thread))["thread"]

    await eventually(cancelled)
    # The plan's edit comes after the note (edits are paced): then its Cancel is gone.
    await eventually(lambda: asyncio.sleep(0, cancel_button() is None))
    assert "Demo answer" not in (await view(page, thread))["thread"]


async def test_mention_is_answered_in_a_thread(page: TestClient[Any, Any], world: World) -> None:
    await send(page, "@Orchestra what is RAG?")

    async def answered() -> bool:
        if not world.slack.channel_messages(CHANNEL):
            return False
        return "subtasks done" in (await view(page, first_parent_ts(world)))["thread"]

    await eventually(answered)
    channel = (await view(page))["channel"]
    assert '<span class="mention">@Orchestra</span> what is RAG?' in channel
    assert "UBOT" not in channel


async def test_plain_text_is_just_a_message(page: TestClient[Any, Any], world: World) -> None:
    await send(page, "hello <team>")
    await send(page, "   ")
    shown = await view(page)
    assert "hello &lt;team&gt;" in shown["channel"]
    assert len(world.slack.channel_messages(CHANNEL)) == 1


async def test_bare_command_shows_its_help_only_to_the_user_with_code_marks(
    page: TestClient[Any, Any],
) -> None:
    await send(page, "/research")
    channel = (await view(page))["channel"]
    assert "Only visible to you" in channel
    assert "<code>/research history</code>" in channel
    assert "`" not in channel


async def test_people_are_named_not_shown_by_id(page: TestClient[Any, Any], world: World) -> None:
    await send(page, "/research compare three databases")
    await eventually(lambda: asyncio.sleep(0, bool(world.slack.channel_messages(CHANNEL))))
    await send(page, "hello")
    channel = (await view(page))["channel"]
    assert f'<span class="mention">@{USER_NAME}</span> asked Orchestra' in channel
    assert re.search(f'<div class="author">{USER_NAME}<time [^>]+>[^<]+</time></div>hello', channel)
    assert USER not in channel.replace('id="m', "")


async def test_the_fake_answers_users_info_with_display_names(
    page: TestClient[Any, Any], world: World
) -> None:
    client = AsyncWebClient(token=world.slack.bot_token, base_url=world.slack.api_url)
    me = await client.users_info(user=USER)
    assert me["user"]["profile"]["display_name"] == USER_NAME
    bot = await client.users_info(user=BOT_USER)
    assert bot["user"]["profile"]["display_name"] == "Orchestra"
    with pytest.raises(SlackApiError) as refused:
        await client.users_info(user="UNOBODY")
    assert refused.value.response["error"] == "user_not_found"


async def test_private_notes_last_for_the_session_only(page: TestClient[Any, Any]) -> None:
    loaded = await view(page, since=None)
    await send(page, "/research")
    assert "Only visible to you" in (await view(page, since=loaded["since"]))["channel"]
    reloaded = await view(page, since=None)
    assert "Only visible to you" not in reloaded["channel"]


async def test_a_buttons_private_reply_shows_in_its_thread_not_the_channel(
    page: TestClient[Any, Any], world: World
) -> None:
    await send(page, "/research compare three databases")
    await eventually(lambda: asyncio.sleep(0, bool(world.slack.channel_messages(CHANNEL))))
    root = first_parent_ts(world)

    async def answered() -> bool:
        return "subtasks done" in (await view(page, root))["thread"]

    await eventually(answered)
    plan = world.slack.thread(CHANNEL, root)[1]

    def final() -> bool:  # the plan's last edit comes after the answer: wait for it
        return CANCEL_ACTION not in str(plan.blocks)

    await eventually(lambda: asyncio.sleep(0, final()))
    run_id = _run_id_of(plan.blocks)
    await page.post(
        "/api/click",
        json={"action": CANCEL_ACTION, "value": run_id, "ts": plan.ts, "thread": root},
    )

    # "already ended" once the run is stored as ended, "already finished" in the moment
    # between its answer and that record: either is the private reply this test is about.
    said = "That run has already"

    async def told() -> bool:
        return said in (await view(page, root))["thread"]

    await eventually(told)
    shown = await view(page, root)
    assert "Only visible to you" in shown["thread"]
    assert said not in shown["channel"]


def _run_id_of(blocks: list[dict[str, Any]]) -> str:
    """The run id a plan message's buttons carry (`run_id` or `run_id:subtask`)."""
    for block in blocks:
        for element in block.get("elements", []):
            if "value" in element:
                return str(element["value"]).partition(":")[0]
    raise AssertionError("no button on the plan message")


async def test_a_command_typed_in_a_thread_runs_in_the_channel_and_says_so(
    page: TestClient[Any, Any], world: World
) -> None:
    await send(page, "hello")
    root = first_parent_ts(world)
    await send(page, "/research history of tea", thread=root)

    async def started() -> bool:
        return len(world.slack.channel_messages(CHANNEL)) == 2

    await eventually(started)
    assert "history of tea" in world.slack.channel_messages(CHANNEL)[1].text
    shown = await view(page, root)
    assert "Your /research started in the channel" in shown["thread"]
    assert "started in the channel" not in shown["channel"]


async def test_an_unknown_command_is_named(page: TestClient[Any, Any]) -> None:
    await send(page, "/weather today")
    assert "<code>/weather</code> is not a command here" in (await view(page))["channel"]


async def test_the_page_has_a_favicon(page: TestClient[Any, Any]) -> None:
    for path in ("/favicon.ico", "/favicon.svg"):
        response = await page.get(path)
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
    assert 'rel="icon"' in await (await page.get("/")).text()


async def test_events_stream_announces_itself_then_each_change(
    page: TestClient[Any, Any],
) -> None:
    async with page.get("/api/events") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert await stream.content.readline() == b"data: hello\n"
        assert await stream.content.readline() == b"\n"
        await send(page, "hi")
        async with asyncio.timeout(5):
            assert await stream.content.readline() == b"data: posted\n"


async def test_shutdown_ends_open_event_streams(server: TestServer) -> None:
    # An open browser tab must not hold up Ctrl-C: aiohttp would wait 60 s for the stream.
    async with aiohttp.ClientSession() as http, http.get(server.make_url("/api/events")) as stream:
        assert await stream.content.readline() == b"data: hello\n"
        async with asyncio.timeout(5):
            await server.close()


async def test_a_multi_line_command_keeps_its_lines_in_the_goal(
    page: TestClient[Any, Any], world: World
) -> None:
    await send(page, "/research\ncompare three databases\nfor a small team")
    await eventually(lambda: asyncio.sleep(0, bool(world.slack.channel_messages(CHANNEL))))
    assert "compare three databases" in (await view(page))["channel"]
    assert "not a command here" not in (await view(page))["channel"]


async def test_the_home_tab_shows_what_the_app_published_when_opened(
    page: TestClient[Any, Any], world: World
) -> None:
    assert await (await page.get("/api/home")).json() == {"published": False, "html": ""}
    await send(page, "/research compare three databases")

    async def answered() -> bool:
        if not world.slack.channel_messages(CHANNEL):
            return False
        if "subtasks done" not in (await view(page, first_parent_ts(world)))["thread"]:
            return False
        # The run's end is stored just after its answer is posted; Home reads the store.
        return any(r.status == "succeeded" for r in await world.deps.store.recent_runs())

    await eventually(answered)
    async with page.get("/api/events") as stream:
        assert await stream.content.readline() == b"data: hello\n"
        # Opening the tab is app_home_opened (tab "home"), and the app publishes in answer.
        assert await (await page.post("/api/home/open")).json() == {"ok": True}
        async with asyncio.timeout(5):
            while await stream.content.readline() != b"data: home\n":
                pass
    home = await (await page.get("/api/home")).json()
    assert home["published"]
    assert "Your recent runs" in home["html"]
    assert "compare three databases" in home["html"]
    assert "✅ answered" in home["html"]
    # The run's thread link opens the thread in the page, not a dead Slack address.
    ts = first_parent_ts(world).replace(".", "")
    assert f'class="permalink" href="#/archives/{CHANNEL}/p{ts}"' in home["html"]


async def test_history_names_the_channel_and_shows_its_emoji(
    page: TestClient[Any, Any], world: World
) -> None:
    await send(page, "/research compare three databases")
    await eventually(lambda: asyncio.sleep(0, bool(world.slack.channel_messages(CHANNEL))))
    await send(page, "/research history")

    async def listed() -> bool:
        return "Latest Orchestra runs in" in (await view(page))["channel"]

    await eventually(listed)
    channel = (await view(page))["channel"]
    assert 'Latest Orchestra runs in <span class="mention channel">#research</span>' in channel
    assert "&lt;#" not in channel
    assert re.search(r"(⏳|🔄|✅) (queued|running|answered)", channel)
