"""Runs survive the process: SIGKILL mid-run and SIGTERM with 30 live runs, then a new start
with the same database resumes them; a Slack retry after the restart starts nothing.

The real `python -m bot` over HTTP, against both fakes, with a SQLite store on disk."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.render.notes import PAUSED, REPLY_INTERRUPTED
from bot.store import RunStore
from sandbox.fakes import signing
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import (
    BotProcess,
    bot_env,
    finish,
    free_port,
    start_bot,
    wait_healthy,
)
from tests.faults.conftest import eventually, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "restart-test-secret"


class Bot:
    """One `python -m bot` process on a port, sharing the database file of the test."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.url = env, f"http://127.0.0.1:{port}"
        self.process: BotProcess | None = None

    async def start(self) -> None:
        self.process = await start_bot(self.env)
        await wait_healthy(self.url)

    async def post(self, body: str, kind: str, headers: dict[str, str] | None = None) -> int:
        signed = {"Content-Type": kind, **signing.sign(SECRET, body), **(headers or {})}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/slack/events", data=body, headers=signed) as response,
        ):
            return response.status

    async def command(self, text: str, channel: str, user: str = "U1") -> None:
        body, kind = signing.slash_command(
            command="/research", text=text, user=user, channel=channel
        )
        assert await self.post(body, kind) == 200

    async def stop(self, sig: signal.Signals, within: float = 30) -> tuple[int, str]:
        assert self.process is not None
        self.process.send_signal(sig)
        return await finish(self.process, within)

    async def kill_quietly(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def bots(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> AsyncIterator[Callable[..., Bot]]:
    """Bots sharing one database file, one at a time (each a new process on a new port)."""
    started: list[Bot] = []
    database = f"sqlite:///{tmp_path / 'orchestra.db'}"

    def new_bot(**settings: str) -> Bot:
        port = free_port()
        env = bot_env(
            SLACK_BOT_TOKEN=fake_slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            ANTHROPIC_API_KEY=fake_claude.api_key,
            ANTHROPIC_BASE_URL=fake_claude.base_url,
            PORT=str(port),
            ORCHESTRA_DATABASE_URL=database,
            ORCHESTRA_SHUTDOWN_TIMEOUT_S="10",
            ORCHESTRA_UPDATE_INTERVAL_S="0.2",
            ORCHESTRA_MAX_ATTEMPTS="2",
        )
        bot = Bot({**env, **settings}, port)
        started.append(bot)
        return bot

    yield new_bot
    for bot in started:
        await bot.kill_quietly()


def aspect(call: CallInfo) -> int:
    """Which of the default plan's three subtasks a subagent call is for."""
    return next(n for n in (1, 2, 3) if f"aspect {n}" in call.system_text)


def calls_for_aspect(claude: FakeAnthropic, n: int) -> int:
    return sum(1 for c in claude.calls_for("subagent") if f"aspect {n}" in str(c.body["system"]))


async def test_sigkill_mid_run_resumes_every_run_without_calling_done_subtasks_again(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    # Subtasks 1 and 2 finish at once; subtask 3 is still in flight when the process dies.
    slow = {"on": True}
    fake_claude.respond(
        "subagent",
        lambda call: Reply(
            text=f"Result {aspect(call)}.", latency=60 if slow["on"] and aspect(call) == 3 else 0
        ),
    )
    first = bots()
    await first.start()
    events: list[tuple[str, str, str]] = []  # (body, kind, channel) of each mention
    for channel in ("C1", "C2", "C3"):
        ts = fake_slack.add_user_message(channel, "U1", "<@UBOT> compare tides")
        body, kind = signing.mention_event(
            text="<@UBOT> compare tides", user="U1", channel=channel, ts=ts, event_id=f"Ev{channel}"
        )
        assert await first.post(body, kind) == 200
        events.append((body, kind, channel))
    store = await RunStore.open(f"sqlite:///{tmp_path / 'orchestra.db'}")
    try:

        async def two_done_everywhere() -> bool:
            runs = await store.unfinished_runs()
            done = [sum(s.state == "done" for s in r.subtasks) for r in runs]
            return len(runs) == 3 and all(d == 2 for d in done)

        async with asyncio.timeout(20):
            while not await two_done_everywhere():  # noqa: ASYNC110 - another process's state
                await asyncio.sleep(0.05)
    finally:
        await store.close()
    assert calls_for_aspect(fake_claude, 3) == 3  # in flight
    await first.stop(signal.SIGKILL)

    slow["on"] = False
    second = bots()
    await second.start()

    def answered(channel: str) -> bool:
        root = fake_slack.channel_messages(channel)[0].ts
        return "tokens in" in thread_text(fake_slack.thread(channel, root))

    await eventually(lambda: all(answered(c) for c in ("C1", "C2", "C3")), within=20)
    for channel in ("C1", "C2", "C3"):
        root = fake_slack.channel_messages(channel)[0].ts
        text = thread_text(fake_slack.thread(channel, root))
        assert "Resumed after a restart: 2 of 3 subtasks were already done." in text
        assert text.count("tokens in") == 1  # exactly one answer
        assert "3/3 subtasks done" in text
    assert calls_for_aspect(fake_claude, 1) == 3  # not called again
    assert calls_for_aspect(fake_claude, 2) == 3
    assert calls_for_aspect(fake_claude, 3) == 6
    assert len(fake_claude.calls_for("orchestrator")) == 3

    # Slack retries the original event after the restart (new signature): nothing starts.
    for body, kind, _ in events:
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        await asyncio.sleep(1.01)  # a new second: a new signature, as Slack signs afresh
        assert await second.post(body, kind, retry) == 200
    await second.command("a fresh question", channel="C9")
    await eventually(lambda: bool(fake_slack.channel_messages("C9")), within=10)
    root = fake_slack.channel_messages("C9")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C9", root)), within=10)
    assert len(fake_claude.calls_for("orchestrator")) == 4
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]


async def test_sigterm_with_live_and_queued_runs_pauses_all_visibly_and_the_next_start_answers_all(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    slow = {"on": True}
    fake_claude.respond(
        "subagent", lambda call: Reply(text="Found it.", latency=60 if slow["on"] else 0)
    )
    # Eight live runs and four queued behind them prove what thirty did (live and queued runs
    # all paused, all answered after), in a third of the time.
    channels = [f"C{n:02d}" for n in range(12)]
    first = bots(ORCHESTRA_MAX_LIVE_RUNS="8")
    await first.start()
    for n, channel in enumerate(channels):
        await first.command(f"long question in {channel}", channel=channel, user=f"U{n}")
    # 8 runs call Claude (ORCHESTRA_MAX_LIVE_RUNS); 4 wait in the queue.
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 24, within=30)

    def queued(channel: str) -> bool:
        roots = fake_slack.channel_messages(channel)
        return bool(roots) and "Queued" in thread_text(fake_slack.thread(channel, roots[0].ts))

    await eventually(lambda: sum(queued(c) for c in channels) == 4, within=30)
    started = time.monotonic()
    code, err = await first.stop(signal.SIGTERM)
    took = time.monotonic() - started
    assert code == 0, err[-2000:]
    assert took < 12, f"took {took:.1f}s to exit"
    assert "Traceback" not in err
    for channel in channels:
        root = fake_slack.channel_messages(channel)[0].ts
        text = thread_text(fake_slack.thread(channel, root))
        assert "restart" in text, text  # every one of them
        assert PAUSED.split(";")[0] in text
        assert "tokens in" not in text

    slow["on"] = False
    second = bots(ORCHESTRA_MAX_LIVE_RUNS="8")
    await second.start()

    def answered(channel: str) -> bool:
        root = fake_slack.channel_messages(channel)[0].ts
        return "tokens in" in thread_text(fake_slack.thread(channel, root))

    await eventually(lambda: all(answered(c) for c in channels), within=60)
    for channel in channels:
        root = fake_slack.channel_messages(channel)[0].ts
        text = thread_text(fake_slack.thread(channel, root))
        assert "Resumed after a restart" in text
        assert text.count("tokens in") == 1
    assert len(fake_slack.channel_messages(channels[0])) == 1  # no second root message
    # The 8 plans made before the restart were reused; the 4 queued runs planned after it.
    assert len(fake_claude.calls_for("orchestrator")) == 12
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]


async def test_an_answer_cut_off_by_sigkill_is_marked_and_the_whole_one_follows(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.free_team = True  # no canvas (tests/e2e/test_canvas_report.py): messages
    words = " ".join(f"finding{i}" for i in range(400))
    slow = {"on": True}
    fake_claude.respond(
        "integrator",
        lambda call: Reply(text=f"Answer: {words}", latency=60 if slow["on"] else 0.5),
    )
    first = bots()
    await first.start()
    await first.command("compare tides", channel="C1")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")), within=10)
    root = fake_slack.channel_messages("C1")[0].ts

    def partial() -> list[str]:
        return [
            m.ts for m in fake_slack.thread("C1", root) if "Answer: finding0" in m.visible_text()
        ]

    await eventually(lambda: bool(partial()), within=20)  # the answer has started to grow
    [cut] = partial()
    await first.stop(signal.SIGKILL)

    slow["on"] = False
    second = bots()
    await second.start()
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)), within=30)
    thread = {m.ts: m.visible_text() for m in fake_slack.thread("C1", root)}
    assert "This answer was cut off when the run was interrupted" in thread[cut]
    answers = [ts for ts, text in thread.items() if "Answer: finding0" in text]
    assert len(answers) == 1
    assert answers[0] != cut
    assert "finding399" in thread[answers[0]]
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]


async def test_a_dm_reply_cut_off_by_sigkill_is_stopped_marked_and_the_whole_one_follows(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    words = " ".join(f"finding{i}" for i in range(400))
    slow = {"on": True}
    fake_claude.respond(
        "integrator",
        lambda call: Reply(text=f"Answer: {words}", latency=60 if slow["on"] else 0.5),
    )
    first = bots()
    await first.start()
    ts = fake_slack.add_user_message("D1", "U1", "compare tides")
    body, kind = signing.dm_message(text="compare tides", user="U1", channel="D1", ts=ts)
    assert await first.post(body, kind) == 200

    def streams_with(text: str) -> list[str]:
        return [s.ts for s in fake_slack.streams_in("D1", ts) if text in s.text]

    await eventually(lambda: bool(streams_with("Answer: finding0")), within=20)
    [cut] = streams_with("Answer: finding0")  # the reply streams, half written
    await first.stop(signal.SIGKILL)

    slow["on"] = False
    second = bots()
    await second.start()
    await eventually(lambda: bool(streams_with("finding399")), within=30)
    [whole] = streams_with("finding399")

    def ended(message_ts: str) -> bool:
        stream = fake_slack.stream("D1", message_ts)
        return stream is not None and stream.state == "stopped"

    await eventually(lambda: ended(whole), within=10)
    old = fake_slack.stream("D1", cut)
    assert old is not None
    assert old.state == "stopped"  # no longer streaming
    marked = fake_slack.find("D1", cut)
    assert marked is not None
    assert REPLY_INTERRUPTED in marked.text
    assert fake_slack.sessions_processing() == []
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]


async def test_a_run_killed_while_posting_its_plan_keeps_its_one_request_message(
    bots: Callable[..., Bot], fake_slack: FakeSlack
) -> None:
    # The request message is posted and recorded; the plan's post hangs (and never arrives):
    # the process dies in between. The resumed run must find its thread, not post a second
    # request message in the channel.
    fake_slack.fail(
        "chat.postMessage", match=lambda args: bool(args.get("thread_ts")), reset=True, delay_s=60
    )
    first = bots()
    await first.start()
    await first.command("compare tides", channel="C1")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")), within=10)
    await asyncio.sleep(1)  # the plan's post is hanging now
    await first.stop(signal.SIGKILL)

    fake_slack.clear_faults()
    second = bots()
    await second.start()
    [root] = fake_slack.channel_messages("C1")
    await eventually(
        lambda: "tokens in" in thread_text(fake_slack.thread("C1", root.ts)), within=30
    )
    assert len(fake_slack.channel_messages("C1")) == 1
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]
