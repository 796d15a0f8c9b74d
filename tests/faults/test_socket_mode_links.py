"""Socket Mode when Slack closes the connection: the real `python -m bot` against the fake
Slack's Socket Mode side. A routine disconnect is logged once with its reason and followed by
one reconnect after a wait that grows while they come in a row; a disconnect that cannot heal
(`link_disabled`, the app token refused) ends the process with one sentence."""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_socket import FakeSocketMode
from tests.faults.bot_process import bot_env, finish, start_bot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RECONNECTING = re.compile(r"Slack closed the connection \((\w+)\); reconnecting in ([\d.]+) s")


@pytest.fixture
async def socket_mode(fake_slack: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode(fake_slack) as socket:
        yield socket


@pytest.fixture
def env(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, socket_mode: FakeSocketMode, tmp_path: Path
) -> dict[str, str]:
    return bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_APP_TOKEN=socket_mode.app_token,
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        ANTHROPIC_BASE_URL=fake_claude.base_url,
        ORCHESTRA_DATABASE_URL=f"sqlite:///{tmp_path / 'orchestra.db'}",
    )


def last_line(err: str) -> str:
    assert "Traceback" not in err, err[-3000:]
    return err.strip().splitlines()[-1]


async def test_link_disabled_ends_the_process_with_one_sentence_and_no_reconnect(
    env: dict[str, str], socket_mode: FakeSocketMode
) -> None:
    bot = await start_bot(env)
    await socket_mode.until(lambda: bool(socket_mode.open_links()), within=20)

    await socket_mode.disable_link()  # Socket Mode turned off in the app's settings
    code, err = await finish(bot, within=15)

    assert code == 2, err[-3000:]
    said = last_line(err)
    assert "link_disabled" in said
    assert "Socket Mode is turned off" in said
    assert (socket_mode.urls_issued, len(socket_mode.links)) == (1, 1)  # never reconnected


async def test_an_app_token_refused_on_reconnect_ends_the_process_naming_it(
    env: dict[str, str], socket_mode: FakeSocketMode
) -> None:
    bot = await start_bot(env)
    await socket_mode.until(lambda: bool(socket_mode.open_links()), within=20)

    socket_mode.revoke_app_token()
    await socket_mode.disconnect(socket_mode.links[0], "refresh_requested")
    code, err = await finish(bot, within=15)

    assert code == 2, err[-3000:]
    said = last_line(err)
    assert "SLACK_APP_TOKEN" in said
    assert "token_revoked" in said
    assert socket_mode.urls_issued == 1  # the refused call issued none
    assert len(RECONNECTING.findall(err)) == 1  # the disconnect, once


async def test_disconnects_in_a_row_are_each_logged_once_and_waited_out_longer(
    env: dict[str, str], socket_mode: FakeSocketMode
) -> None:
    bot = await start_bot(env)
    try:
        await socket_mode.until(lambda: bool(socket_mode.open_links()), within=20)
        # The next two connections are disconnected as soon as they open.
        socket_mode.disconnect_new = ["refresh_requested", "warning"]
        await socket_mode.disconnect(socket_mode.links[0], "refresh_requested")
        await socket_mode.until(lambda: len(socket_mode.links) == 4, within=15)

        envelope = await socket_mode.send_command("history")  # the app still listens
        await socket_mode.until(lambda: socket_mode.acked(envelope), within=10)
    finally:
        bot.send_signal(signal.SIGTERM)
        code, err = await finish(bot, within=15)

    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    logged = RECONNECTING.findall(err)
    assert [reason for reason, _ in logged] == ["refresh_requested", "refresh_requested", "warning"]
    waits = [float(wait) for _, wait in logged]
    assert waits == sorted(waits), waits  # each at least as long as the one before
    assert waits[-1] > waits[0], waits
    assert socket_mode.urls_issued == 4  # one per connection: each disconnect reconnected once
