"""Two workspaces installed by OAuth, served at once by the real `python -m bot` over HTTP
against the fake Slack, never affect each other (issue 24.3): one user id in both (as
Enterprise Grid gives a person), each workspace's per-person limit, live-run cap and queue,
and daily budget counted apart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot.store import RunStore
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply, Usage
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import finish, free_port, start_bot, wait_healthy
from tests.faults.conftest import eventually
from tests.faults.test_oauth_install import SECRET, begin_install, oauth_env, redirect, signed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def command(url: str, team: str, user: str, channel: str, text: str) -> str:
    """A signed /research from `user` of `team`: the ack's text (a private refusal) or ""."""
    body, kind = signing.slash_command(
        command="/research",
        text=text,
        user=user,
        channel=channel,
        team=team,
        enterprise="E1",
        response_url=SLACK[0].response_url,
    )
    headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 200
        return await response.text()


SLACK: list[FakeSlack] = []  # the test's fake, for response_urls


def told(slack: FakeSlack) -> str:
    """Everything said privately: ephemeral messages and response_url replies."""
    ephemeral = [str(c.args.get("text", "")) for c in slack.calls_to("chat.postEphemeral")]
    return " ".join(ephemeral + [str(r.get("text", "")) for r in slack.responses])


def shown(slack: FakeSlack, channel: str) -> str:
    """Everything visible in a channel's first thread (root included)."""
    roots = slack.channel_messages(channel)
    if not roots:
        return ""
    return "".join(m.visible_text() for m in [roots[0], *slack.thread(channel, roots[0].ts)])


async def install(slack: FakeSlack, url: str, team: str) -> str:
    """Install the app in `team` (of org E1) through the real flow; its bot token."""
    installed = slack.oauth.add_team(team, enterprise_id="E1")
    async with aiohttp.ClientSession() as http:
        state = await begin_install(http, url)
        code = slack.oauth.issue_code(installed, "", slack.now())
        assert await redirect(http, url, code=code, state=state) == 200
    return installed.token


async def test_limits_and_queues_of_one_workspace_never_hold_back_another(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "home").mkdir()
    SLACK[:] = [fake_slack]
    fake_claude.respond_plan(simple_plan("Research the goal."), latency=4.0)  # runs stay live
    env = oauth_env(
        fake_slack,
        fake_claude,
        tmp_path,
        port,
        ORCHESTRA_MAX_RUNS_PER_USER="1",
        ORCHESTRA_MAX_LIVE_RUNS="1",
    )
    bot = await start_bot(env)
    try:
        await wait_healthy(url)
        await install(fake_slack, url, "T1")
        await install(fake_slack, url, "T2")

        assert await command(url, "T1", "U1", "C11", "first in T1") == ""
        await eventually(lambda: "first in T1" in shown(fake_slack, "C11"), 20)
        # U1 is at T1's limit of one run ...
        refused = await command(url, "T1", "U1", "C12", "second in T1")
        assert "limit" in refused
        # ... but the same id in T2 is another person's count: it starts, and T1's one
        # live slot (held) does not queue it.
        assert await command(url, "T2", "U1", "C21", "first in T2") == ""
        await eventually(lambda: "first in T2" in shown(fake_slack, "C21"), 20)
        # Another person of T1 waits behind T1's run: T1's queue is T1's.
        assert await command(url, "T1", "U2", "C13", "queued in T1") == ""
        await eventually(lambda: "Queued" in shown(fake_slack, "C13"), 20)
        await eventually(lambda: "tokens in" in shown(fake_slack, "C21"), 30)
        assert "Queued" not in shown(fake_slack, "C21")
        assert "Queued" not in shown(fake_slack, "C11")
        await eventually(lambda: "tokens in" in shown(fake_slack, "C13"), 40)
    finally:
        bot.terminate()
        code, err = await finish(bot, 30)
    assert code == 0, err


async def test_one_workspace_spending_its_budget_never_refuses_another(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "home").mkdir()
    SLACK[:] = [fake_slack]

    def dear_plan(call: CallInfo) -> Reply:
        # A million input tokens at Sonnet's $3: more than the day's $1 budget at once.
        return Reply(json=simple_plan("Research."), usage=Usage(1_000_000, 100))

    fake_claude.respond("orchestrator", dear_plan)
    env = oauth_env(fake_slack, fake_claude, tmp_path, port, ORCHESTRA_USER_DAILY_BUDGET_USD="1")
    bot = await start_bot(env)
    try:
        await wait_healthy(url)
        await install(fake_slack, url, "T1")
        await install(fake_slack, url, "T2")
        assert await command(url, "T1", "U1", "C11", "spend in T1") == ""
        await eventually(lambda: "budget" in shown(fake_slack, "C11"), 30)
        # U1's day in T1 is spent: refused there, privately ...
        await command(url, "T1", "U1", "C12", "again in T1")
        await eventually(lambda: "daily budget" in told(fake_slack), 20)
        assert fake_slack.channel_messages("C12") == []
        # ... while the same id in T2 has a day of its own.
        assert await command(url, "T2", "U1", "C21", "start in T2") == ""
        await eventually(lambda: "start in T2" in shown(fake_slack, "C21"), 20)
    finally:
        bot.terminate()
        code, err = await finish(bot, 30)
    assert code == 0, err


async def test_uninstalling_an_org_wide_install_stops_its_workspaces_live_runs(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "home").mkdir()
    fake_claude.respond_plan(simple_plan("Research the goal."), latency=3.0)
    bot = await start_bot(oauth_env(fake_slack, fake_claude, tmp_path, port))
    org = fake_slack.oauth.add_team("", enterprise_id="E1", org_wide=True)
    try:
        await wait_healthy(url)
        async with aiohttp.ClientSession() as http:
            state = await begin_install(http, url)
            code = fake_slack.oauth.issue_code(org, "", fake_slack.now())
            assert await redirect(http, url, code=code, state=state) == 200
        # Typed in T5, a workspace of the org: served with the org's token.
        body, kind = signing.slash_command(
            command="/research",
            text="in a workspace of the org",
            user="U1",
            channel="C51",
            team="T5",
            enterprise="E1",
            org_wide=True,
            response_url=fake_slack.response_url,
        )
        assert await signed(url, body, kind) == 200
        await eventually(lambda: "in a workspace of the org" in shown(fake_slack, "C51"), 20)
        await eventually(lambda: bool(fake_claude.calls_for("orchestrator")), 20)  # it is live
        # The org uninstalls while the run plans: the run stops, nothing more is asked.
        fake_slack.oauth.uninstall("E1")
        body, kind = signing.event_callback(
            {"type": "app_uninstalled"}, team="T5", enterprise="E1", org_wide=True
        )
        assert await signed(url, body, kind) == 200
        await asyncio.sleep(5)  # the plan (3 s) would be done and its subagents asked by now
        assert fake_claude.calls_for("subagent") == []
    finally:
        bot.terminate()
        code_, err = await finish(bot, 30)
    assert code_ == 0, err
    assert org.token not in err
    store = await RunStore.open(f"sqlite:///{tmp_path / 'db' / 'orchestra.db'}")
    try:
        (run,) = await store.recent_runs()
    finally:
        await store.close()
    assert (run.workspace, run.status) == ("T5", "cancelled"), err  # stopped, not left to fail
