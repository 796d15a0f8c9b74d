"""A collector that is down or hangs costs the app nothing but the telemetry (issue 25):
`python -m bot` exports to a closed loopback port, or to one that accepts connections and
never answers, and still answers runs as usual; its log says so in a bounded number of lines
(no traceback of telemetry's, not a line per failed export) and a SIGTERM still ends it
promptly, the flush bounded by its own timeout (`FLUSH_TIMEOUT_S`), not the exporter's."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.telemetry.setup import FLUSH_TIMEOUT_S
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.e2e.conftest import thread_text
from tests.faults.bot_process import bot_env, finish, free_port
from tests.faults.test_telemetry import ANSWER, SECRET, Bot, until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# How long one export may take, retries included (OTEL_EXPORTER_OTLP_TIMEOUT, in seconds).
# A closed port: a second, so that exports fail many times over while runs go on (each
# batch's failure would be a few lines of the SDK's). A hanging collector: far past the
# flush's bound, so that a SIGTERM that waited for the exporter would not end.
EXPORT_TIMEOUT_S = {"closed": "1", "hanging": "120"}
RUNS = 3
# A log record's first line (the text format: time, level, logger).
RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
# A telemetry record: the SDK's loggers and the app's own.
TELEMETRY_LINE = re.compile(r" (opentelemetry[\w.]*|bot\.telemetry[\w.]*): ")
# What the log may say about telemetry in all, however many exports failed: the start's line
# and one per signal (traces, metrics) that could not be exported.
MOST_LINES = 3


@dataclass
class Collector:
    """Where the app exports to, and how many connections reached it (a hanging one)."""

    kind: str  # "closed" or "hanging"
    url: str
    connections: list[asyncio.StreamWriter] = field(default_factory=list)


@pytest.fixture(params=["closed", "hanging"])
async def collector(request: pytest.FixtureRequest) -> AsyncIterator[Collector]:
    port = free_port()
    found = Collector(request.param, f"http://127.0.0.1:{port}")
    if request.param == "closed":  # nothing listens: every connection refused
        yield found
        return

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found.connections.append(writer)  # read, never answered, never closed by us

    server = await asyncio.start_server(hold, "127.0.0.1", port)
    try:
        yield found
    finally:
        for writer in found.connections:
            writer.close()
        server.close()
        await server.wait_closed()


def records(log: str) -> list[str]:
    """The log's records: a line with a time, and the traceback lines under it."""
    found: list[str] = []
    for line in log.splitlines():
        if RECORD.match(line) or not found:
            found.append(line)
        else:
            found[-1] += "\n" + line
    return found


def telemetry_lines(log: str) -> list[str]:
    """The records of telemetry's loggers, or with a traceback through its code."""
    return [
        record
        for record in records(log)
        if TELEMETRY_LINE.search(record.split("\n", 1)[0])
        or ("Traceback" in record and ("/opentelemetry/" in record or "/bot/telemetry/" in record))
    ]


async def test_runs_are_answered_the_log_stays_short_and_sigterm_is_prompt(
    collector: Collector, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", lambda call: Reply(text=ANSWER))
    port = free_port()
    env = bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        ANTHROPIC_BASE_URL=fake_claude.base_url,
        PORT=str(port),
        ORCHESTRA_UPDATE_INTERVAL_S="0.2",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_EXPORTER_OTLP_TIMEOUT=EXPORT_TIMEOUT_S[collector.kind],
        OTEL_BSP_SCHEDULE_DELAY="100",  # spans try to leave every 100 ms,
        OTEL_METRIC_EXPORT_INTERVAL="200",  # metrics every 200 ms
    )
    bot = Bot(env, port)
    try:
        await bot.start()
        for n in range(RUNS):
            await bot.mention(fake_slack, f"C{n}", f"Ev{n}")
        threads = [(f"C{n}", fake_slack.channel_messages(f"C{n}")[0].ts) for n in range(RUNS)]
        await until(
            lambda: all(ANSWER in thread_text(fake_slack.thread(c, ts)) for c, ts in threads)
        )
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        # Promptly: the flush gives up after FLUSH_TIMEOUT_S (an export waits 120 s).
        code, log = await finish(bot.process, FLUSH_TIMEOUT_S + 10)
    finally:
        await bot.kill_quietly()
    assert code == 0
    said = telemetry_lines(log)
    assert not [record for record in said if "Traceback" in record], "\n".join(said)
    assert len(said) <= MOST_LINES, "\n".join(said)
    if collector.kind == "closed":  # each export refused at once: told once, not each time
        for signal_name in ("spans", "metrics"):
            told = sum(f"could not export {signal_name}" in line for line in said)
            assert told == 1, "\n".join(said)
    else:  # each export still waiting when the flush's time was up
        assert collector.connections
        assert sum("gave up" in line for line in said) == 1, "\n".join(said)
    assert len(fake_claude.calls_for("integrator")) == RUNS
