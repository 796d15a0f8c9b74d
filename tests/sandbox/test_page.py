"""The sandbox page's routes in-process: the real app, both fakes, the demo model made fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.blocks import CANCEL_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.demo import install_demo
from sandbox.fakes.slack import FakeSlack
from sandbox.page import CHANNEL, create_page_app
from sandbox.world import World, running_world

View = dict[str, str]


@pytest.fixture
def speed() -> float:
    """How slow the demo model is (1.0: as in the sandbox; the default here: 100x faster)."""
    return 0.01


@pytest.fixture
async def world(speed: float) -> AsyncIterator[World]:
    async with FakeSlack() as slack, FakeAnthropic() as claude:
        install_demo(claude, speed=speed, seed=1)
        client = make_client(claude.api_key, claude.base_url, 5)
        async with running_world(slack, AnthropicLLM(client), PipelineConfig()) as world:
            yield world
        await client.close()


@pytest.fixture
async def server(world: World) -> AsyncIterator[TestServer]:
    server = TestServer(create_page_app(world, "Demo <backend>"))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def page(server: TestServer) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(server) as client:
        yield client


async def view(page: TestClient[Any, Any], thread: str | None = None) -> View:
    """What the page shows: the channel, and `thread` when one is open."""
    response = await page.get("/api/view", params={"thread": thread} if thread else {})
    assert response.status == 200
    data: View = await response.json()
    return data


async def send(page: TestClient[Any, Any], text: str, thread: str | None = None) -> None:
    """Type in the composer and press Enter."""
    response = await page.post("/api/send", json={"text": text, "thread": thread})
    assert response.status == 200


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10) -> None:
    """Wait until `check()` holds: the app works in the background after its ack."""
    async with asyncio.timeout(within):
        # Polling on purpose: the page itself learns of changes only by re-reading the view.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


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
    assert cancel_button() is None
    assert "Demo answer" not in (await view(page, thread))["thread"]


async def test_mention_is_answered_in_a_thread(page: TestClient[Any, Any], world: World) -> None:
    await send(page, "@Orchestra what is RAG?")

    async def answered() -> bool:
        if not world.slack.channel_messages(CHANNEL):
            return False
        return "subtasks done" in (await view(page, first_parent_ts(world)))["thread"]

    await eventually(answered)
    assert "@UBOT" in (await view(page))["channel"]


async def test_plain_text_is_just_a_message(page: TestClient[Any, Any], world: World) -> None:
    await send(page, "hello <team>")
    await send(page, "   ")
    shown = await view(page)
    assert "hello &lt;team&gt;" in shown["channel"]
    assert len(world.slack.channel_messages(CHANNEL)) == 1


async def test_bare_command_shows_a_note_only_to_the_user(page: TestClient[Any, Any]) -> None:
    await send(page, "/research")

    async def noted() -> bool:
        return "Only visible to you" in (await view(page))["ephemeral"]

    await eventually(noted)


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
