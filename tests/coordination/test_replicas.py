"""Two replicas of the real app, in one process, on one PostgreSQL run store and one real
Redis (each with its own client), driven over HTTP with signed requests and both fakes.

What is wired so far: a Cancel clicked on the replica that does not have the run stops it;
a delivery sent to both replicas starts one run; a signed request replayed to the other
replica is refused; /healthz names each dependency."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.__main__ import build_deps
from bot.coordination import Coordination, RedisLink, redis_coordination
from bot.deps import Workspace
from bot.render.messages import CANCEL_ACTION
from bot.runs.lifecycle import keeping_runs
from bot.serving.app import create_app
from bot.serving.server import http_server
from bot.store import RunStore
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import TEAM, WORKSPACE_URL, FakeSlack
from sandbox.world import SIGNING_SECRET, World, world_settings
from tests.coordination.conftest import LinkFactory
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

CONFIG = PipelineConfig(
    retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=40, max_attempts=2
)


@contextlib.asynccontextmanager
async def replica(
    slack: FakeSlack,
    claude: FakeAnthropic,
    store: RunStore,
    coordination: Coordination,
    *,
    max_live: int = 20,
    max_per_user: int = 5,
) -> AsyncIterator[World]:
    """One replica of the app in HTTP mode, composed as `python -m bot` composes it (at most
    `max_live` runs calling Claude, `max_per_user` runs a person)."""
    settings = world_settings(slack).model_copy(
        update={
            **{name: getattr(CONFIG, name) for name in PipelineConfig.model_fields},
            "max_live_runs": max_live,
            "max_runs_per_user": max_per_user,
        }
    )
    llm_client = make_client(claude.api_key, claude.base_url, 40)
    deps = build_deps(
        settings,
        store,
        Workspace(TEAM, WORKSPACE_URL),
        coordination,
        llm=AnthropicLLM(llm_client),  # closed below (build_deps's own lives as the process)
    )
    app = create_app(deps)
    async with (
        http_server(app, deps, "127.0.0.1", 0) as url,
        keeping_runs(deps),
        coordination.cancels.listening(deps.runs.cancel),
        aiohttp.ClientSession() as http,
    ):
        yield World(slack, deps, url, http)
    await llm_client.close()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as claude:
        yield claude


@pytest.fixture
async def pair(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, postgres_url: str, new_link: LinkFactory
) -> AsyncIterator[tuple[World, World]]:
    """Replicas a and b: a store and a Redis client each, on one database and one Redis."""
    stores = [await RunStore.open(postgres_url), await RunStore.open(postgres_url)]
    links = [new_link(), new_link()]
    try:
        async with (
            replica(
                fake_slack, fake_claude, stores[0], redis_coordination(links[0], stores[0])
            ) as a,
            replica(
                fake_slack, fake_claude, stores[1], redis_coordination(links[1], stores[1])
            ) as b,
        ):
            yield a, b
    finally:
        for store in stores:
            await store.close()


async def test_a_cancel_clicked_on_the_other_replica_stops_the_run_within_a_second(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=30))
    await a.command("a slow one", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    run = a.deps.runs.running[0]
    assert not b.deps.runs.is_running(run.run_id)
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: run.plan_ts is not None)
    clicked = time.monotonic()
    response = await b.click(
        CANCEL_ACTION, run.run_id, message_ts=str(run.plan_ts), thread_ts=root, user="U5"
    )
    assert response.status == 200
    await eventually(lambda: not a.deps.runs.is_running(run.run_id), within=1.0)
    assert time.monotonic() - clicked < 1.0
    await eventually(lambda: "Cancelled by <@U5>" in thread_text(fake_slack.thread("C1", root)))
    assert fake_claude.calls_for("integrator") == []
    assert fake_slack.ephemeral == []  # nothing to tell the clicker: the thread says it


@pytest.mark.slow
async def test_a_cancel_on_the_other_replica_is_checked_against_the_store(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=3))
    await a.command("mine", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    run = a.deps.runs.running[0]
    root = fake_slack.channel_messages("C1")[0].ts
    await b.click(CANCEL_ACTION, run.run_id, message_ts=str(run.plan_ts), thread_ts=root, user="U6")
    await eventually(lambda: bool(fake_slack.ephemeral))
    assert "Only <@U5>" in fake_slack.ephemeral[0][2]
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not a.deps.runs.running)
    await b.click(CANCEL_ACTION, run.run_id, message_ts=str(run.plan_ts), thread_ts=root, user="U5")
    await eventually(lambda: len(fake_slack.ephemeral) == 2)
    assert fake_slack.ephemeral[1][2] == "That run has already ended."


async def test_one_event_delivered_to_both_replicas_starts_one_run(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    _, ts = await a.mention("<@UBOT> compare queues", event_id="Ev-both")
    await b.mention(
        "<@UBOT> compare queues",
        event_id="Ev-both",
        ts=ts,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", ts)))
    await eventually(lambda: not a.deps.runs.running and not b.deps.runs.running)
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert thread_text(fake_slack.thread("C1", ts)).count("Integrated answer") == 1


async def test_a_signed_request_replayed_to_the_other_replica_is_refused(
    pair: tuple[World, World],
) -> None:
    a, b = pair
    body, kind = signing.slash_command(
        command="/research",
        text="history",
        user="U1",
        channel="C1",
        response_url=a.slack.response_url,
    )
    headers = {"Content-Type": kind, **signing.sign(SIGNING_SECRET, body)}
    statuses = []
    for world in (a, b):
        async with world.http.post(
            f"{world.app_url}/slack/events", data=body, headers=headers
        ) as response:
            statuses.append(response.status)
    assert statuses == [200, 401]


async def test_healthz_reports_the_database_and_redis(pair: tuple[World, World]) -> None:
    a, _ = pair
    async with a.http.get(f"{a.app_url}/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["ok"] is True
    assert body["checks"] == {"database": "ok", "redis": "ok", "slack": "ok"}
    assert body["live_runs"] == 0


async def test_healthz_names_an_unreachable_redis_with_503(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    postgres_url: str,
    dead_redis_url: str,
    prefix: str,
) -> None:
    store = await RunStore.open(postgres_url)
    link = RedisLink.from_url(dead_redis_url, prefix=prefix)
    try:
        async with replica(fake_slack, fake_claude, store, redis_coordination(link, store)) as a:
            started = time.monotonic()
            async with a.http.get(f"{a.app_url}/healthz") as response:
                assert response.status == 503
                body = await response.json()
            assert time.monotonic() - started < 3  # within the Docker probe's timeout
    finally:
        await link.close()
        await store.close()
    assert body["ok"] is False
    assert body["failing"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "unreachable (ConnectionError)"


async def test_healthz_says_503_while_stopping(pair: tuple[World, World]) -> None:
    a, _ = pair
    a.deps.runs.accepting = False  # what SIGTERM's shutdown sets first
    async with a.http.get(f"{a.app_url}/healthz") as response:
        assert response.status == 503
        assert (await response.json())["failing"] == ["stopping"]
