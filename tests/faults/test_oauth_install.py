"""Installed by OAuth in many workspaces, the real `python -m bot` over HTTP against the fake
Slack: "Add to Slack" with a state, the redirect stores the installation (token sealed), a bad
or missing state gets 4xx and no oauth.v2.access; a /research from T2 makes every Web API call
with T2's token; a workspace that never installed gets an ack and nothing else (logged once);
app_uninstalled deletes T2's token, which is never sent again; nothing under $HOME."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from cryptography.fernet import Fernet

from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_oauth import CLIENT_ID, CLIENT_SECRET
from tests.faults.bot_process import bot_env, finish, free_port, start_bot, wait_healthy
from tests.faults.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "oauth-signing-secret"
NOT_INSTALLED = "workspace T9 (enterprise -), which has not installed the app"


def oauth_env(
    slack: FakeSlack, claude: FakeAnthropic, tmp_path: Path, port: int, **more: str
) -> dict[str, str]:
    return bot_env(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        ANTHROPIC_API_KEY=claude.api_key,
        ANTHROPIC_BASE_URL=claude.base_url,
        ORCHESTRA_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ORCHESTRA_DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'orchestra.db'}",
        HOME=str(tmp_path / "home"),
        PORT=str(port),
        **more,
    )


async def signed(url: str, body: str, kind: str) -> int:
    headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        await response.read()
        return response.status


async def begin_install(http: aiohttp.ClientSession, url: str) -> str:
    """GET /slack/install: the state in its "Add to Slack" link. Its cookie (Secure: a
    browser sends it back over HTTPS only) is kept as the browser's, in `BROWSER`."""
    async with http.get(f"{url}/slack/install") as response:
        assert response.status == 200
        page = await response.text()
        cookies = response.headers.getall("Set-Cookie", [])
    assert len(cookies) == 1
    assert "Secure" in cookies[0]
    assert "HttpOnly" in cookies[0]
    BROWSER[id(http)] = cookies[0].split(";")[0]
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert link is not None, page
    query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "app_mentions:read"}
    assert query["client_id"] == [CLIENT_ID]
    return query["state"][0]


BROWSER: dict[int, str] = {}  # a session's state cookie, as its browser would send it


async def redirect(http: aiohttp.ClientSession, url: str, **query: str) -> int:
    """Slack sends the browser back to /slack/oauth_redirect (with its cookie, if any)."""
    cookie = BROWSER.get(id(http))
    headers = {"Cookie": cookie} if cookie else {}
    async with http.get(f"{url}/slack/oauth_redirect", params=query, headers=headers) as response:
        await response.read()
        return response.status


def every_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_install_serve_two_workspaces_and_uninstall(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "home").mkdir()
    bot = await start_bot(oauth_env(fake_slack, fake_claude, tmp_path, port))
    two = fake_slack.oauth.add_team("T2", name="Second")
    try:
        await wait_healthy(url)
        async with aiohttp.ClientSession() as http:
            # A missing state, a made-up one, or a good one without its browser's cookie: 4xx.
            state = await begin_install(http, url)
            code = fake_slack.oauth.issue_code(two, "", fake_slack.now())
            assert 400 <= await redirect(http, url, code=code) < 500
            assert 400 <= await redirect(http, url, code=code, state="made-up") < 500
        async with aiohttp.ClientSession() as stranger:
            assert 400 <= await redirect(stranger, url, code=code, state=state) < 500
        assert fake_slack.calls_to("oauth.v2.access") == []
        async with aiohttp.ClientSession() as http:
            state = await begin_install(http, url)
            assert await redirect(http, url, code=code, state=state) == 200
            # A state works once.
            assert 400 <= await redirect(http, url, code=code, state=state) < 500
        assert [c.response["ok"] for c in fake_slack.calls_to("oauth.v2.access")] == [True]

        # /research typed in T2: served, every call with T2's token.
        first_call = len(fake_slack.calls)
        body, kind = signing.slash_command(
            command="/research", text="compare two things", user="U2", channel="C2", team="T2"
        )
        assert await signed(url, body, kind) == 200
        await eventually(lambda: bool(fake_slack.channel_messages("C2")), 20)
        root = fake_slack.channel_messages("C2")[0].ts
        await eventually(
            lambda: "tokens in" in "".join(m.visible_text() for m in fake_slack.thread("C2", root)),
            30,
        )
        served = fake_slack.calls[first_call:]
        assert served
        assert {c.token for c in served} == {two.token}

        # A workspace that never installed: acked, nothing posted, logged once.
        before = len(fake_slack.calls)
        for _ in range(2):
            body, kind = signing.slash_command(
                command="/research", text="anything", user="U9", channel="C9", team="T9"
            )
            assert await signed(url, body, kind) == 200
        await asyncio.sleep(0.5)  # what a wrong start would post, it would have by now
        assert fake_slack.channel_messages("C9") == []
        # Only T2's run (still closing its thread) called Slack meanwhile.
        assert {c.token for c in fake_slack.calls[before:]} <= {two.token}

        # Uninstalled: its token deleted, never sent again (even for a new request).
        fake_slack.oauth.uninstall("T2")
        body, kind = signing.event_callback({"type": "app_uninstalled"}, team="T2")
        assert await signed(url, body, kind) == 200
        await asyncio.sleep(0.3)
        after_uninstall = len(fake_slack.calls)
        body, kind = signing.slash_command(
            command="/research", text="again", user="U2", channel="C3", team="T2"
        )
        assert await signed(url, body, kind) == 200
        await asyncio.sleep(0.5)
        assert fake_slack.channel_messages("C3") == []
        assert all(c.token != two.token for c in fake_slack.calls[after_uninstall:])
    finally:
        bot.terminate()
        code_, err = await finish(bot, 20)
    assert code_ == 0, err
    assert err.count(NOT_INSTALLED) == 1, err
    assert two.token not in err
    assert two.token.encode() not in every_byte(tmp_path / "db")
    assert list((tmp_path / "home").iterdir()) == []  # no Bolt file stores under $HOME


async def test_the_installed_token_is_sealed_in_the_database(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "home").mkdir()
    bot = await start_bot(oauth_env(fake_slack, fake_claude, tmp_path, port))
    three = fake_slack.oauth.add_team("T3", enterprise_id="E1")
    try:
        await wait_healthy(url)
        async with aiohttp.ClientSession() as http:
            state = await begin_install(http, url)
            code = fake_slack.oauth.issue_code(three, "", fake_slack.now())
            assert await redirect(http, url, code=code, state=state) == 200
        data = await asyncio.to_thread(every_byte, tmp_path / "db")
        assert b"T3" in data
        assert three.token.encode() not in data
    finally:
        bot.terminate()
        await finish(bot, 20)


@pytest.mark.parametrize(
    ("key", "said"),
    [("", "ORCHESTRA_ENCRYPTION_KEY"), ("not-a-fernet-key", "ORCHESTRA_ENCRYPTION_KEY")],
)
async def test_many_workspaces_without_a_usable_key_refuse_to_start(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path, key: str, said: str
) -> None:
    env = oauth_env(fake_slack, fake_claude, tmp_path, free_port())
    env["ORCHESTRA_ENCRYPTION_KEY"] = key
    code, err = await finish(await start_bot(env), 20)
    assert code == 2
    assert said in err
    assert "Traceback" not in err
    assert not key or key not in err


async def test_a_bot_token_keeps_one_workspace_and_the_client_id_is_ignored_with_a_warning(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "home").mkdir()
    env = oauth_env(fake_slack, fake_claude, tmp_path, port, SLACK_BOT_TOKEN=fake_slack.bot_token)
    bot = await start_bot(env)
    try:
        await wait_healthy(url)
        async with aiohttp.ClientSession() as http, http.get(f"{url}/slack/install") as r:
            assert r.status == 404  # no OAuth routes
        body, kind = signing.slash_command(
            command="/research", text="one workspace", user="U1", channel="C1"
        )
        assert await signed(url, body, kind) == 200
        await eventually(lambda: bool(fake_slack.channel_messages("C1")), 20)
    finally:
        bot.terminate()
        _, err = await finish(bot, 20)
    assert err.count("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are ignored") == 1, err
    assert list((tmp_path / "home").iterdir()) == []
