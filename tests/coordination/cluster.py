"""Several `python -m bot` processes on one PostgreSQL run store and one real Redis, each on
its own port, in front of the test's fake Slack and fake Claude: replicas as deployed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp

from bot.store import RunStore, StoredRun
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import bot_env, free_port, wait_healthy
from tests.zygote import Forked, start_module

SECRET = "replicas-test-secret"
LEASE_S = 2.0  # takeover within about LEASE_S * 1.5 of a death: tests stay short

# A Slack retry: the same body, signed again a second apart (Slack signs every try afresh,
# so the replay guard lets it through and only delivery dedupe can stop it).
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@dataclass
class Replica:
    """One `python -m bot` process."""

    name: str
    url: str
    env: dict[str, str]
    log_path: Path
    process: Forked | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = await start_module(
            "bot", env=self.env, cwd="/", stdout=self._log, stderr=self._log
        )

    def owns(self, run: StoredRun) -> bool:
        """Whether the run's row names this process as its owner (`host:pid:…`)."""
        return run.owner is not None and run.owner.split(":")[1] == str(self.pid)

    async def post(
        self, body: str, kind: str, *, retry: bool = False, http: aiohttp.ClientSession
    ) -> int:
        """POST a signed Slack request; `retry`: as Slack's retry, signed a second earlier."""
        at = int(time.time()) - (1 if retry else 0)
        headers = {
            "Content-Type": kind,
            **signing.sign(SECRET, body, at),
            **(RETRY if retry else {}),
        }
        async with http.post(f"{self.url}/slack/events", data=body, headers=headers) as response:
            return response.status

    async def live_runs(self, http: aiohttp.ClientSession) -> int:
        async with http.get(f"{self.url}/healthz") as response:
            return int((await response.json())["live_runs"])

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL if it lingers)."""
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log is not None:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    """The replicas, the store they share (read by the test), and an HTTP client."""

    replicas: list[Replica]
    store: RunStore
    http: aiohttp.ClientSession

    async def runs(self) -> list[StoredRun]:
        """Every run in the store (the test's view of who owns what)."""
        found = [
            await self.store.get_run(s.run_id) for s in await self.store.recent_runs(limit=1000)
        ]
        return [run for run in found if run is not None]

    async def idle(self, replicas: Sequence[Replica] | None = None, within: float = 30) -> None:
        """Until no replica has a live run (their last Slack calls may trail the answer)."""
        async with asyncio.timeout(within):
            for replica in replicas or self.replicas:
                while await replica.live_runs(self.http):  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def cluster(
    slack: FakeSlack,
    claude: FakeAnthropic,
    *,
    database_url: str,
    redis_url: str,
    logs: Path,
    replicas: int = 3,
    **settings: str,
) -> AsyncIterator[Cluster]:
    """`replicas` processes of the app, started together and healthy, stopped after."""
    started: list[Replica] = []
    for n in range(replicas):
        port = free_port()
        values = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "ANTHROPIC_API_KEY": claude.api_key,
            "ANTHROPIC_BASE_URL": claude.base_url,
            "PORT": str(port),
            "ORCHESTRA_DATABASE_URL": database_url,
            "ORCHESTRA_REDIS_URL": redis_url,
            "ORCHESTRA_LEASE_S": str(LEASE_S),
            "ORCHESTRA_SHUTDOWN_TIMEOUT_S": "5",
            "ORCHESTRA_UPDATE_INTERVAL_S": "0.2",
            "ORCHESTRA_MAX_ATTEMPTS": "2",
        }
        env = bot_env(**{**values, **settings})
        started.append(Replica(f"r{n}", f"http://127.0.0.1:{port}", env, logs / f"r{n}.log"))
    store = await RunStore.open(database_url)  # the schema, before the replicas start
    try:
        for replica in started:
            await replica.start()
        await asyncio.gather(*(wait_healthy(r.url, within=60) for r in started))
        async with aiohttp.ClientSession() as http:
            yield Cluster(started, store, http)
    finally:
        await asyncio.gather(*(replica.stop() for replica in started))
        await store.close()


def mentioned(
    slack: FakeSlack, channel: str, text: str, user: str, event_id: str
) -> tuple[str, str, str]:
    """A person's mention in `channel` as the fake Slack shows it, and its event delivery:
    (the mention's ts, which is the run's thread, body, content type)."""
    ts = slack.add_user_message(channel, user, text)
    body, kind = signing.mention_event(
        text=text, user=user, channel=channel, ts=ts, event_id=event_id
    )
    return ts, body, kind
