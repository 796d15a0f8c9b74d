"""Two workspaces installed by OAuth, served by three real `python -m bot` replicas on one
PostgreSQL store and one Redis (issue 24.3): one user id in both (as Enterprise Grid gives a
person), each workspace's per-person limit, live-run cap and queue counted apart whichever
replica takes the request."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from bot.store import RunStore
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_oauth import CLIENT_ID, CLIENT_SECRET
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


async def test_two_workspaces_caps_and_queues_stay_apart_across_three_replicas(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    redis_db_url: str,
    tmp_path: Path,
) -> None:
    fake_claude.respond_plan(simple_plan("Research the goal."), latency=4.0)  # runs stay live
    key = Fernet.generate_key().decode()  # one key: every replica opens every token
    replicas = []
    for n in range(3):
        port = free_port()
        (tmp_path / f"home{n}").mkdir()
        env = bot_env(
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            ANTHROPIC_API_KEY=fake_claude.api_key,
            ANTHROPIC_BASE_URL=fake_claude.base_url,
            ORCHESTRA_ENCRYPTION_KEY=key,
            ORCHESTRA_DATABASE_URL=postgres_url,
            ORCHESTRA_REDIS_URL=redis_db_url,
            ORCHESTRA_LEASE_S=str(LEASE_S),
            ORCHESTRA_SHUTDOWN_TIMEOUT_S="5",
            ORCHESTRA_UPDATE_INTERVAL_S="0.2",
            ORCHESTRA_MAX_RUNS_PER_USER="1",
            ORCHESTRA_MAX_LIVE_RUNS="1",
            HOME=str(tmp_path / f"home{n}"),
            PORT=str(port),
        )
        replicas.append(Replica(f"r{n}", f"http://127.0.0.1:{port}", env, tmp_path / f"r{n}.log"))
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
