"""Two workspaces installed by OAuth, served by three real `python -m bot` replicas on one
PostgreSQL store and one Redis (issue 24.3): one user id in both (as Enterprise Grid gives a
person), each workspace's per-person limit, live-run cap and queue counted apart whichever
replica takes the request; and each workspace's settings (one channel id in both, a daily
budget in one) and daily budgets, the channel's and the person's, kept apart (issue 24.4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.runs import channel_settings as cs
from bot.store import RunStore
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply, Usage
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_oauth import CLIENT_ID, CLIENT_SECRET
from sandbox.fakes.slack_views import submit_view
from tests.coordination.cluster import LEASE_S, Replica
from tests.e2e.conftest import eventually, fake_claude, fake_slack
from tests.faults.bot_process import bot_env, free_port, wait_healthy
from tests.faults.test_oauth_install import begin_install, redirect
from tests.faults.test_workspaces_apart import shown, told

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

SECRET = "workspaces-replicas-secret"


async def command(
    replica: Replica, slack: FakeSlack, team: str, user: str, channel: str, text: str
) -> str:
    """A signed /research from `user` of `team` to `replica`: the ack's text or ""."""
    body, kind = signing.slash_command(
        command="/research",
        text=text,
        user=user,
        channel=channel,
        team=team,
        enterprise="E1",
        response_url=slack.response_url,
        trigger_id=slack.issue_trigger(user),  # Slack sends one with every command
    )
    headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{replica.url}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 200
        return await response.text()


async def install(slack: FakeSlack, replica: Replica, team: str) -> None:
    """Install the app in `team` (of org E1) through the real flow on `replica`."""
    installed = slack.oauth.add_team(team, enterprise_id="E1")
    async with aiohttp.ClientSession() as http:
        state = await begin_install(http, replica.url)
        code = slack.oauth.issue_code(installed, "", slack.now())
        assert await redirect(http, replica.url, code=code, state=state) == 200


def three_replicas(
    slack: FakeSlack,
    claude: FakeAnthropic,
    postgres_url: str,
    redis_url: str,
    tmp: Path,
    **env: str,
) -> list[Replica]:
    """Three replicas in OAuth mode on one PostgreSQL and one Redis (`env`: more settings)."""
    key = Fernet.generate_key().decode()  # one key: every replica opens every token
    replicas = []
    for n in range(3):
        port = free_port()
        (tmp / f"home{n}").mkdir()
        full = bot_env(
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            ANTHROPIC_API_KEY=claude.api_key,
            ANTHROPIC_BASE_URL=claude.base_url,
            ORCHESTRA_ENCRYPTION_KEY=key,
            ORCHESTRA_DATABASE_URL=postgres_url,
            ORCHESTRA_REDIS_URL=redis_url,
            ORCHESTRA_LEASE_S=str(LEASE_S),
            ORCHESTRA_SHUTDOWN_TIMEOUT_S="5",
            ORCHESTRA_UPDATE_INTERVAL_S="0.2",
            HOME=str(tmp / f"home{n}"),
            PORT=str(port),
            **env,
        )
        replicas.append(Replica(f"r{n}", f"http://127.0.0.1:{port}", full, tmp / f"r{n}.log"))
    return replicas


async def test_two_workspaces_caps_and_queues_stay_apart_across_three_replicas(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> None:
    fake_claude.respond_plan(simple_plan("Research the goal."), latency=4.0)  # runs stay live
    replicas = three_replicas(
        fake_slack,
        fake_claude,
        postgres_url,
        redis_db_url,
        tmp_path,
        ORCHESTRA_MAX_RUNS_PER_USER="1",
        ORCHESTRA_MAX_LIVE_RUNS="1",
    )
    store = await RunStore.open(postgres_url)  # the schema, before the replicas start
    r0, r1, r2 = replicas
    try:
        for replica in replicas:
            await replica.start()
        for replica in replicas:
            await wait_healthy(replica.url, within=60)
        await install(fake_slack, r0, "T1")
        await install(fake_slack, r1, "T2")  # the OAuth state and installations are shared

        assert await command(r0, fake_slack, "T1", "U1", "C11", "first in T1") == ""
        await eventually(lambda: "first in T1" in shown(fake_slack, "C11"), 30)
        # U1 is at T1's limit of one run, on every replica (another replica's count is
        # confirmed after the ack, so it is said privately then) ...
        said = await command(r1, fake_slack, "T1", "U1", "C12", "second in T1")
        await eventually(lambda: "limit" in said + told(fake_slack), 30)
        # ... but the same id in T2 is another person's count: it starts on a third replica,
        # and T1's one live slot (held) does not queue it.
        assert await command(r2, fake_slack, "T2", "U1", "C21", "first in T2") == ""
        await eventually(lambda: "first in T2" in shown(fake_slack, "C21"), 30)
        # Another person of T1 waits behind T1's run, whichever replica takes them.
        assert await command(r2, fake_slack, "T1", "U2", "C13", "queued in T1") == ""
        await eventually(lambda: "Queued" in shown(fake_slack, "C13"), 30)
        await eventually(lambda: "tokens in" in shown(fake_slack, "C21"), 60)
        assert "Queued" not in shown(fake_slack, "C21")
        assert "Queued" not in shown(fake_slack, "C11")
        await eventually(lambda: "tokens in" in shown(fake_slack, "C13"), 90)
        assert fake_slack.channel_messages("C12") == []  # refused: nothing posted
        teams = {run.channel: run.workspace for run in await store.recent_runs(limit=10)}
        assert teams == {"C11": "T1", "C13": "T1", "C21": "T2"}
    finally:
        for replica in replicas:
            await replica.stop()
        await store.close()
    for replica in replicas:
        assert "Traceback" not in replica.log(), replica.name


def everything(slack: FakeSlack, channel: str, goal: str = "") -> str:
    """Everything visible in a channel's threads (both workspaces'), or in the one thread
    whose root says `goal`."""
    return "".join(
        m.visible_text()
        for root in slack.channel_messages(channel)
        if goal in root.visible_text()
        for m in [root, *slack.thread(channel, root.ts)]
    )


GERMAN = "Answer in German."


async def configure(
    slack: FakeSlack, via: tuple[Replica, Replica], team: str, values: dict[str, str]
) -> None:
    """UADM, an admin of `team`, opens C1's settings on `via[0]` and saves `values` through
    `via[1]`; the save is announced in C1."""
    before = set(slack.views.open)
    roots = len(slack.channel_messages("C1"))
    assert await command(via[0], slack, team, "UADM", "C1", "settings") == ""
    await eventually(lambda: bool(set(slack.views.open) - before), 30)
    [view_id] = set(slack.views.open) - before
    url = f"{via[1].url}/slack/events"
    assert await submit_view(slack, url, SECRET, view_id, values, team=team, enterprise="E1") == {}
    await eventually(lambda: len(slack.channel_messages("C1")) > roots, 30)


async def test_one_workspaces_channel_and_person_budgets_never_refuse_another_across_replicas(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> None:
    def plan(call: CallInfo) -> Reply:
        if "spend" in call.user_text:
            # A million input tokens at Sonnet's $3: past both of T1's $1 budgets at once.
            return Reply(json=simple_plan("Research."), usage=Usage(1_000_000, 100))
        return Reply(json=simple_plan("Research."))

    fake_claude.respond("orchestrator", plan)
    # Everyone's own day: $1 per person (the deployment's default), kept per workspace.
    replicas = three_replicas(
        fake_slack,
        fake_claude,
        postgres_url,
        redis_db_url,
        tmp_path,
        ORCHESTRA_USER_DAILY_BUDGET_USD="1",
    )
    store = await RunStore.open(postgres_url)  # the schema, before the replicas start
    r0, r1, r2 = replicas
    try:
        for replica in replicas:
            await replica.start()
        for replica in replicas:
            await wait_healthy(replica.url, within=60)
        await install(fake_slack, r0, "T1")
        await install(fake_slack, r1, "T2")
        # One channel id in both workspaces (as on Enterprise Grid), each with its own
        # settings, saved by an admin through the modal (opened on one replica, submitted
        # to another): a $1 daily budget in T1's; in T2's standing instructions and $2
        # (which T1's spend alone would exceed, were the channel's day shared).
        fake_slack.add_user("UADM", "Ada", role="admin")
        await configure(fake_slack, (r2, r0), "T1", {cs.BUDGET: "1"})
        await configure(fake_slack, (r0, r1), "T2", {cs.INSTRUCTIONS: GERMAN, cs.BUDGET: "2"})
        for team, budget in (("T1", 1.0), ("T2", 2.0)):
            saved = await store.settings_of(team, "C1")
            assert saved is not None
            assert cs.LevelSettings.from_json(saved.data).budget_usd == budget
        assert len(fake_slack.channel_messages("C1")) == 2  # each change announced

        assert await command(r0, fake_slack, "T1", "U1", "C1", "spend in T1") == ""
        await eventually(lambda: "stopped" in everything(fake_slack, "C1", "spend in T1"), 60)
        roots = len(fake_slack.channel_messages("C1"))
        # T1's channel is spent: another person's next run there is refused privately, on
        # another replica ...
        said = await command(r1, fake_slack, "T1", "U2", "C1", "again in T1")
        await eventually(lambda: "This channel's daily budget" in said + told(fake_slack), 30)
        # ... and so is U1's own day in T1, in a channel without a budget, on a third.
        said = await command(r2, fake_slack, "T1", "U1", "C2", "elsewhere in T1")
        await eventually(lambda: "Your daily budget" in said + told(fake_slack), 30)
        assert len(fake_slack.channel_messages("C1")) == roots  # refused: nothing posted
        assert fake_slack.channel_messages("C2") == []
        refusals = told(fake_slack)

        # The same person in the same channel id of T2 runs on every replica, to the end.
        for replica in replicas:
            goal = f"cheap in T2 via {replica.name}"
            assert await command(replica, fake_slack, "T2", "U1", "C1", goal) == ""
        for replica in replicas:
            thread = f"cheap in T2 via {replica.name}"

            def finished(goal: str = thread) -> bool:
                # Fails at once should T2's person or channel be refused or stopped.
                assert told(fake_slack) == refusals, told(fake_slack)
                shown_ = everything(fake_slack, "C1", goal)
                assert "stopped" not in shown_, shown_
                return "tokens in" in shown_

            await eventually(finished, 90)
        assert told(fake_slack) == refusals  # nobody in T2 was refused
        # Each workspace's settings reached its own runs only.
        for call in fake_claude.calls_for("orchestrator"):
            asked = str(call.body["messages"][0]["content"])
            assert (GERMAN in asked) == ("in T2" in asked), asked
        # A run's end (and its spend) is stored just after its answer is posted: wait for it.
        for _ in range(300):
            t2 = await store.recent_runs(workspace="T2", limit=10)
            if sorted(r.status for r in t2) == ["succeeded"] * 3:
                break
            await asyncio.sleep(0.1)
        assert sorted(r.status for r in t2) == ["succeeded"] * 3
        # What each day holds: T1's spend (over its $1) is T1's; T2's runs paid in T2.
        assert await store.spend_today(workspace="T1") >= 3.0
        assert 0 < await store.spend_today(workspace="T2") < 1.0
        assert {r.channel for r in t2} == {"C1"}
    finally:
        for replica in replicas:
            await replica.stop()
        await store.close()
    for replica in replicas:
        assert "Traceback" not in replica.log(), replica.name
