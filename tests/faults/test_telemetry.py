"""Traces and metrics of real runs (issue 25): `python -m bot` over HTTP against both fakes,
exporting OTLP/HTTP to a receiver on loopback that decodes the protobuf.

Metrics are exported every 10 minutes here: those that arrive came with the SIGTERM's flush."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import (
    BotProcess,
    bot_env,
    finish,
    free_port,
    start_bot,
    wait_healthy,
)
from tests.faults.otlp_receiver import Receiver, otlp_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "telemetry-test-secret"
GOAL = "compare quokka tides"  # must never be exported unless content capture is on
ANSWER = "Integrated zephyr answer."
START_WITHIN_S = 60


class Bot:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.url = env, f"http://127.0.0.1:{port}"
        self.process: BotProcess | None = None

    async def start(self) -> None:
        self.process = await start_bot(self.env)
        # Up to a minute, as tests/coordination/cluster.py allows: on the 2-core machine under
        # a parallel suite (load average 8-9) `python -m bot` took 13-19 s to answer /healthz
        # (its imports alone 9-12 s), and twice past the 20 s wait_healthy allows by default:
        # that failed the test that starts the app twice (a resume after SIGKILL), 1 in 6.
        await wait_healthy(self.url, within=START_WITHIN_S)

    async def mention(self, fake_slack: FakeSlack, channel: str, event_id: str) -> None:
        ts = fake_slack.add_user_message(channel, "U1", f"<@UBOT> {GOAL}")
        body, kind = signing.mention_event(
            text=f"<@UBOT> {GOAL}", user="U1", channel=channel, ts=ts, event_id=event_id
        )
        headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/slack/events", data=body, headers=headers) as response,
        ):
            assert response.status == 200

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        assert self.process is not None
        self.process.send_signal(sig)
        return await finish(self.process, 30)

    async def kill_quietly(self) -> None:
        """End the process if it still runs; its log is printed (pytest shows it on failure)."""
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.kill()
        _, err = await self.process.communicate()  # what a stop above has not read already
        print(f"--- {self.url} exited {self.process.returncode}\n{err.decode()[-4000:]}")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with otlp_receiver() as received:
        yield received


@pytest.fixture
async def bots(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver, tmp_path: Path
) -> AsyncIterator[Callable[..., Bot]]:
    started: list[Bot] = []
    database = f"sqlite:///{tmp_path / 'orchestra.db'}"
    fake_claude.respond("integrator", lambda call: Reply(text=ANSWER))

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
            ORCHESTRA_UPDATE_INTERVAL_S="0.2",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_BSP_SCHEDULE_DELAY="100",
            OTEL_METRIC_EXPORT_INTERVAL="600000",
        )
        bot = Bot({**env, **settings}, port)
        started.append(bot)
        return bot

    yield new_bot
    for bot in started:
        await bot.kill_quietly()


async def until(check: Callable[[], bool], within: float = 30) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - another process's state
            await asyncio.sleep(0.05)


def ended(fake_claude: FakeAnthropic, runs: int) -> Callable[[], bool]:
    return lambda: sum(c.status == 200 for c in fake_claude.calls_for("integrator")) >= runs


async def test_each_run_is_one_trace_with_every_claude_call_a_chat_span_and_sigterm_flushes(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver
) -> None:
    bot = bots()
    await bot.start()
    await bot.mention(fake_slack, "C1", "Ev1")
    await bot.mention(fake_slack, "C2", "Ev2")
    await until(ended(fake_claude, 2))
    await until(lambda: len(receiver.roots()) == 2)
    code, _ = await bot.stop()
    assert code == 0

    roots = receiver.roots()
    assert {r.attributes["orchestra.channel"] for r in roots} == {"C1", "C2"}
    assert all(r.parent_id == "" for r in roots)
    assert all(r.attributes["orchestra.run.outcome"] == "succeeded" for r in roots)
    traces = receiver.traces()
    assert set(traces) == {r.trace_id for r in roots}  # two runs, two traces, nothing else

    chats = receiver.named("chat ")
    assert len(chats) == len(fake_claude.calls)  # each call exactly one span
    by_id = {s.span_id: s for s in receiver.spans}
    for chat in chats:
        a = chat.attributes
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == "anthropic"
        assert a["gen_ai.request.model"]
        assert a["gen_ai.response.model"]
        assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
        parent = by_id[chat.parent_id]  # under its stage (an agent span), under the root
        assert parent.attributes["gen_ai.operation.name"] == "invoke_agent"
        assert by_id[parent.parent_id].name == "invoke_agent orchestra"
    stages = {s.attributes["gen_ai.agent.name"] for s in receiver.named("invoke_agent ")}
    assert stages == {"orchestra", "orchestrator", "subagent", "integrator", "follow_ups"}
    assert not receiver.named("anthropic.")  # the SDK's own span is off

    used = fake_claude.total_usage()
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats) == used.output_tokens
    assert sum(c.attributes["gen_ai.usage.input_tokens"] for c in chats) == (
        used.input_tokens + used.cache_creation_input_tokens + used.cache_read_input_tokens
    )

    everything = b"".join(receiver.bodies)
    assert GOAL.encode() not in everything
    assert ANSWER.encode() not in everything

    # Every Slack request the runs made is a span in their traces, whatever client made it:
    # all but the two auth.test calls made before any run (the start-up check's, and Bolt's
    # authorization on its per-request client), which are counted but belong to no run. (A
    # call the app cancelled is a span that Slack may not have seen.)
    answered = fake_slack.counts_by_method()
    assert answered.pop("auth.test") == 2
    slack_spans = receiver.named("slack ")
    assert {s.attributes["slack.method"] for s in slack_spans} == set(answered)
    for method, count in answered.items():
        spans = [s for s in slack_spans if s.attributes["slack.method"] == method]
        done = [s for s in spans if s.attributes.get("error.type") != "CancelledError"]
        assert len(done) <= count <= len(spans), method

    # Metrics only ever left with the SIGTERM's flush (their interval is 10 minutes).
    for name in (
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "orchestra.runs",
        "orchestra.run.duration",
        "orchestra.queue.wait",
        "orchestra.queue.length",
        "orchestra.runs.live",
        "orchestra.cost",
        "orchestra.slack.calls",
    ):
        assert receiver.metrics.get(name), name
    assert sum(p.as_int for p in receiver.metrics["orchestra.runs"]) == 2
    # Both runs are over: nobody waits, nothing is live (up-down counters back at zero).
    assert receiver.total("orchestra.queue.length") == 0
    assert receiver.total("orchestra.runs.live") == 0


async def test_content_is_exported_only_when_asked(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver
) -> None:
    bot = bots(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true")
    await bot.start()
    await bot.mention(fake_slack, "C1", "Ev1")
    await until(ended(fake_claude, 1))
    await bot.stop()
    everything = b"".join(receiver.bodies)
    assert GOAL.encode() in everything
    assert ANSWER.encode() in everything


async def test_a_run_resumed_after_sigkill_joins_its_trace(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver
) -> None:
    slow = {"on": True}
    fake_claude.respond(
        "subagent",
        lambda call: Reply(text="Result.", latency=60 if slow["on"] and call.index == 2 else 0),
    )
    first = bots()
    await first.start()
    await first.mention(fake_slack, "C1", "Ev1")
    await until(lambda: len(receiver.named("chat ")) >= 3)  # the plan and two subagents
    await first.stop(signal.SIGKILL)
    (trace_id,) = {s.trace_id for s in receiver.spans}
    assert not receiver.roots()  # the killed attempt's root is lost
    slow["on"] = False

    second = bots()
    await second.start()
    await until(ended(fake_claude, 1))
    await until(lambda: len(receiver.roots()) == 1)
    await second.stop()
    (root,) = receiver.roots()
    assert root.trace_id == trace_id
    assert root.attributes["orchestra.run.resumed"] is True
    assert {s.trace_id for s in receiver.spans} == {trace_id}
    assert receiver.total("orchestra.takeovers") == 1  # the restart took the run over


async def test_slack_calls_are_client_spans_in_the_run_trace_and_429s_are_counted_by_method(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver
) -> None:
    fake_slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=1, times=1)
    bot = bots()
    await bot.start()
    await bot.mention(fake_slack, "C1", "Ev1")
    await until(ended(fake_claude, 1))
    await until(lambda: len(receiver.roots()) == 1)
    code, _ = await bot.stop()
    assert code == 0

    (root,) = receiver.roots()
    slack = receiver.named("slack ")
    assert slack, "no Slack call span"
    assert {s.trace_id for s in receiver.spans} == {root.trace_id}  # all in the run's trace
    answered_spans = 0
    for span in slack:
        method = span.name.removeprefix("slack ")
        assert span.attributes["slack.method"] == method
        assert span.attributes["server.address"] == "127.0.0.1"
        if span.attributes.get("error.type") == "CancelledError":
            # The app cancelled the call (a live plan edit cut short by the run's final
            # one, bot.thread.plan_editor): no answer to tell, and the span says so.
            assert method == "chat.update"
            continue
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes["slack.ok"] is True
        answered_spans += 1
    assert answered_spans
    posts = [s for s in slack if s.attributes["slack.method"] == "chat.postMessage"]
    assert sum("slack.rate_limited" in s.events for s in posts) == 1  # waited out, one span

    # Every request Slack answered, 429s included (but the start-up check's auth.test, made
    # on its own client before the app's is built).
    answered = fake_slack.counts_by_method()
    answered.pop("auth.test", None)
    assert answered
    for method, count in answered.items():
        # A call the app cancelled may have been answered after it stopped listening.
        cancelled = sum(
            s.attributes.get("error.type") == "CancelledError"
            for s in receiver.named(f"slack {method}")
        )
        counted = receiver.total("orchestra.slack.calls", **{"slack.method": method})
        assert count - cancelled <= counted <= count, method
    assert receiver.total("orchestra.slack.rate_limited", **{"slack.method": "chat.postMessage"})
    assert receiver.total("orchestra.slack.rate_limited") == 1

    everything = b"".join(receiver.bodies)
    assert GOAL.encode() not in everything  # a call's arguments never leave
    assert fake_slack.bot_token.encode() not in everything


async def test_a_budget_refusal_is_counted(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, receiver: Receiver
) -> None:
    bot = bots(ORCHESTRA_USER_DAILY_BUDGET_USD="0.000001")  # less than any first call
    await bot.start()
    await bot.mention(fake_slack, "C1", "Ev1")
    await until(lambda: bool(fake_slack.visible_ephemeral("U1")))
    await bot.stop()
    assert not fake_claude.calls
    assert receiver.total("orchestra.budget.refusals") == 1
    assert not receiver.roots()  # no run, no trace
