"""A real Prometheus (Debian's `prometheus` 2.42) scrapes the app's opt-in /metrics (issue 25):
`python -m bot` with ORCHESTRA_PROMETHEUS_METRICS=true runs a request against both fakes,
Prometheus scrapes it on loopback every second, and its HTTP API answers for the series.

The binary is installed by .ci/run; without it the test fails in CI and skips elsewhere."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import bot_env, finish, free_port, start_bot, wait_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "prometheus-test-secret"
PROMETHEUS = shutil.which("prometheus")

if PROMETHEUS is None and os.environ.get("CI") != "true":
    pytest.skip(
        "Debian's prometheus binary is not installed (apt-get install prometheus; .ci/run "
        "does): the real scrape of /metrics is not tested here",
        allow_module_level=True,
    )

CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: orchestra
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


@pytest.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[Callable[[int], Any]]:
    """Starts Prometheus scraping the app on a port; its API's base URL."""
    assert PROMETHEUS is not None, "CI installs prometheus (.ci/run)"
    processes: list[asyncio.subprocess.Process] = []

    async def start(app_port: int) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(CONFIG.format(port=app_port))
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        processes.append(process)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def query(http: aiohttp.ClientSession, base: str, promql: str) -> list[Any]:
    """The instant query's result vector (empty until Prometheus has the series)."""
    try:
        async with http.get(f"{base}/api/v1/query", params={"query": promql}) as response:
            if response.status != 200:
                return []
            answer = await response.json()
    except aiohttp.ClientError:
        return []  # not listening yet
    assert answer["status"] == "success"
    result: list[Any] = answer["data"]["result"]
    return result


async def until_series(http: aiohttp.ClientSession, base: str, promql: str) -> list[Any]:
    async with asyncio.timeout(60):
        while not (found := await query(http, base, promql)):  # noqa: ASYNC110 - polled
            await asyncio.sleep(0.5)  # another process's state
    return found


async def test_prometheus_scrapes_the_metrics_of_a_run(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, prometheus: Callable[[int], Any]
) -> None:
    port = free_port()
    env = bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        ANTHROPIC_BASE_URL=fake_claude.base_url,
        PORT=str(port),
        ORCHESTRA_PROMETHEUS_METRICS="true",
    )
    bot = await start_bot(env)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url)
        ts = fake_slack.add_user_message("C1", "U1", "<@UBOT> compare two tides")
        body, kind = signing.mention_event(
            text="<@UBOT> compare two tides", user="U1", channel="C1", ts=ts, event_id="Ev1"
        )
        async with aiohttp.ClientSession() as http:
            headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
            async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
                assert response.status == 200
            base = await prometheus(port)

            up = await until_series(http, base, 'up{job="orchestra"} == 1')
            assert up[0]["metric"]["instance"] == f"127.0.0.1:{port}"
            runs = await until_series(http, base, 'orchestra_runs_total{outcome="succeeded"}')
            assert runs[0]["value"][1] == "1"
            tokens = await until_series(
                http, base, 'sum(gen_ai_client_token_usage_sum{gen_ai_token_type="output"})'
            )
            assert float(tokens[0]["value"][1]) == fake_claude.total_usage().output_tokens
            assert await until_series(http, base, "orchestra_slack_calls_total")
    finally:
        bot.terminate()
        code, _ = await finish(bot, 30)
    assert code == 0
